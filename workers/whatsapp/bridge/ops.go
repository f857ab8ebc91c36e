package main

// The ops table: every op the worker can ask, by name.

import "context"

func (b *Bridge) Ops() map[string]Handler {
	return map[string]Handler{
		"connect": b.connect, "pair_phone": b.pairPhone, "disconnect": b.disconnect, "logout": b.logout,
		"send": b.send, "edit": b.edit, "revoke": b.revoke, "mark_read": b.markRead, "presence": b.presence,
		"download":        b.download,
		"on_whatsapp":     b.ask(func(ctx context.Context, d Directory, a queryArgs) (any, error) { return d.OnWhatsApp(ctx, a.Phone) }),
		"contact_profile": b.ask(func(ctx context.Context, d Directory, a queryArgs) (any, error) { return d.ContactProfile(ctx, a.JID) }),
		"own_profile":     b.ask(func(ctx context.Context, d Directory, _ queryArgs) (any, error) { return d.OwnProfile(ctx) }),
		"groups":          b.ask(func(ctx context.Context, d Directory, _ queryArgs) (any, error) { return d.Groups(ctx) }),
		"create_group": b.ask(func(ctx context.Context, d Directory, a queryArgs) (any, error) {
			return d.CreateGroup(ctx, a.Subject, a.Participants)
		}),
		"change_participants": b.ask(func(ctx context.Context, d Directory, a queryArgs) (any, error) {
			return d.ChangeParticipants(ctx, a.Group, a.Action, a.Participants)
		}),
		"invite_link": b.ask(func(ctx context.Context, d Directory, a queryArgs) (any, error) { return d.InviteLink(ctx, a.Group) }),
		"leave_group": b.ask(func(ctx context.Context, d Directory, a queryArgs) (any, error) { return d.LeaveGroup(ctx, a.Group) }),
	}
}

// queryArgs: every question's args (each reads its own).
type queryArgs struct {
	Phone        string   `json:"phone"`
	JID          string   `json:"jid"`
	Subject      string   `json:"subject"`
	Group        string   `json:"group"`
	Action       string   `json:"action"`
	Participants []string `json:"participants"`
}

func (b *Bridge) ask(question func(context.Context, Directory, queryArgs) (any, error)) Handler {
	return func(req Request) (any, error) {
		var args queryArgs
		s, err := b.sessionAnd(req, &args)
		if err != nil {
			return nil, err
		}
		return question(context.Background(), Directory{s.client}, args)
	}
}
