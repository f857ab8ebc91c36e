package main

// The worker questions on whatsmeow's calls, answered in the contract's shapes and refused with the SDK's
// codes, as the neonize adapter does (neonize_queries.py): WhatsApp's status 400 is `invalid`, 401 and 403
// `forbidden`, 404 `not_found`, anything else `failed`, each with WhatsApp's own words.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
)

var refusalCodes = map[int]string{400: ErrInvalid, 401: ErrForbidden, 403: ErrForbidden, 404: ErrNotFound}

// A participant's `Error` in whatsmeow's answer to a change (0: done); anything else is WhatsApp refusing.
var outcomes = map[int]string{0: "done", 404: "not_found", 409: "unchanged"}

var statusInText = regexp.MustCompile(`status (\d{3})`)

// refused types whatsmeow's error: its IQ error's code, or the status its text names.
func refused(err error) *Failure {
	code := 0
	var iq *whatsmeow.IQError
	if errors.As(err, &iq) {
		code = iq.Code
	} else if found := statusInText.FindStringSubmatch(err.Error()); found != nil {
		code, _ = strconv.Atoi(found[1])
	}
	kind, known := refusalCodes[code]
	if !known {
		kind = ErrFailed
	}
	message := "WhatsApp refused it: " + err.Error()
	if len(message) > 500 {
		message = message[:500]
	}
	return fail(kind, message)
}

// ParseJID reads a chat or contact as the platform names it (a number, `…@s.whatsapp.net`, `…@lid`, `…@g.us`).
func ParseJID(text string) (types.JID, error) {
	user, server, found := strings.Cut(text, "@")
	if !found {
		server = types.DefaultUserServer
	}
	user = strings.TrimLeft(user, "+")
	if user == "" {
		return types.JID{}, fail(ErrBadRequest, fmt.Sprintf("not a WhatsApp address: %q", text))
	}
	return types.NewJID(user, server), nil
}

func parseAll(texts []string) ([]types.JID, error) {
	jids := make([]types.JID, 0, len(texts))
	for _, text := range texts {
		jid, err := ParseJID(text)
		if err != nil {
			return nil, err
		}
		jids = append(jids, jid)
	}
	return jids, nil
}

// person: a member by phone number when whatsmeow knows it (groups name members by `@lid`), else by its id.
func person(p types.GroupParticipant) string {
	if p.JID.Server == types.HiddenUserServer && p.PhoneNumber.User != "" {
		return jidText(p.PhoneNumber)
	}
	return jidText(p.JID)
}

func role(p types.GroupParticipant) string {
	switch {
	case p.IsSuperAdmin:
		return "superadmin"
	case p.IsAdmin:
		return "admin"
	}
	return "member"
}

// groupFrom: members WhatsApp refused (`Error` set, as in a new group's answer) are not members.
func groupFrom(info *types.GroupInfo) map[string]any {
	members := []map[string]any{}
	for _, p := range info.Participants {
		if p.Error == 0 {
			members = append(members, map[string]any{"jid": person(p), "role": role(p)})
		}
	}
	return map[string]any{"jid": jidText(info.JID), "subject": info.Name, "participants": members}
}

// outcomesFrom: each participant's outcome under every id WhatsApp names them by (phone, `@lid`).
func outcomesFrom(changed []types.GroupParticipant) map[string]string {
	found := map[string]string{}
	for _, p := range changed {
		outcome, known := outcomes[p.Error]
		if !known {
			outcome = "forbidden"
		}
		for _, jid := range []types.JID{p.JID, p.PhoneNumber, p.LID} {
			if jid.User != "" {
				found[jidText(jid)] = outcome
			}
		}
	}
	return found
}

// profileFrom: the name is the session's own push name; for a contact the name the phone saved, else the
// one they chose, else a business's; else a verified business name; else none.
func profileFrom(jid string, info *types.UserInfo, contact *types.ContactInfo, picture string, ownName string) map[string]any {
	names := []string{ownName}
	if contact != nil {
		names = append(names, contact.FullName, contact.PushName, contact.BusinessName)
	}
	about := ""
	if info != nil {
		about = info.Status
		if info.VerifiedName != nil && info.VerifiedName.Details != nil {
			names = append(names, info.VerifiedName.Details.GetVerifiedName())
		}
	}
	var name any
	for _, candidate := range names {
		if candidate != "" {
			name = candidate
			break
		}
	}
	return map[string]any{"jid": jid, "name": name, "about": nullable(about), "picture_url": nullable(picture)}
}

// Directory answers the questions on a session's whatsmeow client.
type Directory struct{ client *whatsmeow.Client }

func (d Directory) OnWhatsApp(ctx context.Context, phone string) (any, error) {
	answers, err := d.client.IsOnWhatsApp(ctx, []string{"+" + strings.TrimLeft(phone, "+")})
	if err != nil {
		return nil, refused(err)
	}
	for _, answer := range answers {
		if answer.IsIn {
			return map[string]any{"jid": jidText(answer.JID)}, nil
		}
	}
	return map[string]any{"jid": nil}, nil
}

func (d Directory) ContactProfile(ctx context.Context, jidText string) (any, error) {
	if strings.HasSuffix(jidText, "@"+types.DefaultUserServer) {
		found, err := d.OnWhatsApp(ctx, strings.Split(jidText, "@")[0])
		if err != nil {
			return nil, err
		}
		known, _ := found.(map[string]any)["jid"].(string)
		if known == "" {
			return nil, fail(ErrNotFound, "this number does not use WhatsApp")
		}
		jidText = known
	}
	target, err := ParseJID(jidText)
	if err != nil {
		return nil, err
	}
	if d.client.Store.ID == nil { // a device never linked has no contact store
		return nil, fail(ErrFailed, "the session is not logged in to WhatsApp")
	}
	var contact *types.ContactInfo
	if stored, err := d.client.Store.Contacts.GetContact(ctx, target); err == nil && stored.Found {
		contact = &stored
	}
	info, err := d.userInfo(ctx, target)
	if err != nil {
		return nil, err
	}
	picture, err := d.picture(ctx, target)
	if err != nil {
		return nil, err
	}
	return profileFrom(jidText, info, contact, picture, ""), nil
}

func (d Directory) OwnProfile(ctx context.Context) (any, error) {
	if d.client.Store.ID == nil {
		return nil, fail(ErrFailed, "the session is not logged in to WhatsApp")
	}
	own := d.client.Store.ID.ToNonAD() // the account, not this linked device
	info, err := d.userInfo(ctx, own)
	if err != nil {
		return nil, err
	}
	picture, err := d.picture(ctx, own)
	if err != nil {
		return nil, err
	}
	ownName := d.client.Store.PushName
	if ownName == "" {
		ownName = d.client.Store.BusinessName
	}
	return profileFrom(jidText(own), info, nil, picture, ownName), nil
}

func (d Directory) userInfo(ctx context.Context, jid types.JID) (*types.UserInfo, error) {
	answers, err := d.client.GetUserInfo(ctx, []types.JID{jid})
	if err != nil {
		return nil, refused(err)
	}
	for answered, info := range answers {
		if answered.User == jid.User {
			return &info, nil
		}
	}
	return nil, nil
}

func (d Directory) picture(ctx context.Context, jid types.JID) (string, error) {
	found, err := d.client.GetProfilePictureInfo(ctx, jid, &whatsmeow.GetProfilePictureParams{})
	if errors.Is(err, whatsmeow.ErrProfilePictureNotSet) || errors.Is(err, whatsmeow.ErrProfilePictureUnauthorized) {
		return "", nil // no picture to see is an answer, not a failure
	}
	if err != nil {
		return "", refused(err)
	}
	if found == nil {
		return "", nil
	}
	return found.URL, nil
}

func (d Directory) Groups(ctx context.Context) (any, error) {
	joined, err := d.client.GetJoinedGroups(ctx)
	if err != nil {
		return nil, refused(err)
	}
	groups := []map[string]any{}
	for _, info := range joined {
		groups = append(groups, groupFrom(info))
	}
	return map[string]any{"groups": groups}, nil
}

func (d Directory) CreateGroup(ctx context.Context, subject string, participants []string) (any, error) {
	jids, err := parseAll(participants)
	if err != nil {
		return nil, err
	}
	info, err := d.client.CreateGroup(ctx, whatsmeow.ReqCreateGroup{Name: subject, Participants: jids})
	if err != nil {
		return nil, refused(err)
	}
	return groupFrom(info), nil
}

func (d Directory) ChangeParticipants(ctx context.Context, group, action string, participants []string) (any, error) {
	groupJID, err := ParseJID(group)
	if err != nil {
		return nil, err
	}
	jids, err := parseAll(participants)
	if err != nil {
		return nil, err
	}
	changed, err := d.client.UpdateGroupParticipants(ctx, groupJID, jids, whatsmeow.ParticipantChange(action))
	if err != nil {
		return nil, refused(err)
	}
	return map[string]any{"outcomes": outcomesFrom(changed)}, nil
}

func (d Directory) InviteLink(ctx context.Context, group string) (any, error) {
	groupJID, err := ParseJID(group)
	if err != nil {
		return nil, err
	}
	link, err := d.client.GetGroupInviteLink(ctx, groupJID, false)
	if err != nil {
		return nil, refused(err)
	}
	return map[string]any{"link": link}, nil
}

func (d Directory) LeaveGroup(ctx context.Context, group string) (any, error) {
	groupJID, err := ParseJID(group)
	if err != nil {
		return nil, err
	}
	if err := d.client.LeaveGroup(ctx, groupJID); err != nil {
		return nil, refused(err)
	}
	return nil, nil
}
