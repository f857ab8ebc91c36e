package main

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
)

func TestWhatsAppsRefusalsAreTheSDKsCodes(t *testing.T) {
	cases := map[error]string{
		&whatsmeow.IQError{Code: 400, Text: "bad-request"}:                               ErrInvalid,
		&whatsmeow.IQError{Code: 401, Text: "not-authorized"}:                            ErrForbidden,
		&whatsmeow.IQError{Code: 403, Text: "forbidden"}:                                 ErrForbidden,
		fmt.Errorf("wrapped: %w", &whatsmeow.IQError{Code: 404, Text: "item-not-found"}): ErrNotFound,
		errors.New("info query returned status 404: item-not-found"):                     ErrNotFound,
		&whatsmeow.IQError{Code: 500, Text: "internal-server-error"}:                     ErrFailed,
		whatsmeow.ErrNotConnected:                                                        ErrFailed,
	}
	for err, want := range cases {
		if got := refused(err); got.Type != want || got.Message != "WhatsApp refused it: "+err.Error() {
			t.Errorf("%v: got %#v, want %s", err, got, want)
		}
	}
}

func TestGroupsAndParticipantOutcomesInTheContractsShape(t *testing.T) {
	info := &types.GroupInfo{JID: group, GroupName: types.GroupName{Name: "Team"}, Participants: []types.GroupParticipant{
		{JID: contactLid, PhoneNumber: contact, IsSuperAdmin: true},
		{JID: types.JID{User: "15559998888", Server: types.DefaultUserServer}, IsAdmin: true},
		{JID: types.JID{User: "15557776666", Server: types.DefaultUserServer}, Error: 403},
	}}
	want := map[string]any{"jid": "120363000000000001@g.us", "subject": "Team", "participants": []map[string]any{
		{"jid": "15552223333@s.whatsapp.net", "role": "superadmin"}, {"jid": "15559998888@s.whatsapp.net", "role": "admin"}}}
	if got := groupFrom(info); !reflect.DeepEqual(got, want) {
		t.Errorf("group: %#v", got)
	}
	changed := []types.GroupParticipant{{JID: contactLid, PhoneNumber: contact, LID: contactLid},
		{JID: types.JID{User: "1", Server: types.DefaultUserServer}, Error: 409},
		{JID: types.JID{User: "2", Server: types.DefaultUserServer}, Error: 403}}
	wantOutcomes := map[string]string{"98765432109876@lid": "done", "15552223333@s.whatsapp.net": "done",
		"1@s.whatsapp.net": "unchanged", "2@s.whatsapp.net": "forbidden"}
	if got := outcomesFrom(changed); !reflect.DeepEqual(got, wantOutcomes) {
		t.Errorf("outcomes: %#v", got)
	}
}

func TestAProfilesNamePrefersWhatThePhoneSaved(t *testing.T) {
	saved := &types.ContactInfo{FullName: "Ann Smith", PushName: "annie"}
	got := profileFrom("15552223333@s.whatsapp.net", &types.UserInfo{Status: "busy"}, saved, "https://pps/x", "")
	want := map[string]any{"jid": "15552223333@s.whatsapp.net", "name": "Ann Smith", "about": "busy", "picture_url": "https://pps/x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v", got)
	}
	if none := profileFrom("1@s.whatsapp.net", nil, nil, "", ""); none["name"] != nil || none["about"] != nil || none["picture_url"] != nil {
		t.Errorf("an unknown contact: %#v", none)
	}
}

func TestAddressesAsThePlatformWritesThem(t *testing.T) {
	for text, want := range map[string]types.JID{
		"+15552223333":               contact,
		"15552223333@s.whatsapp.net": contact,
		"98765432109876@lid":         contactLid,
		"120363000000000001@g.us":    group,
	} {
		if got, err := ParseJID(text); err != nil || got != want {
			t.Errorf("%s: %v %v", text, got, err)
		}
	}
	if _, err := ParseJID("@s.whatsapp.net"); err == nil || asFailure(err).Type != ErrBadRequest {
		t.Errorf("an empty address: %v", err)
	}
}
