package integration

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestResult is the outcome of Test connection.
type TestResult struct {
	OK bool
	// Account is who the token acts for: the user-info endpoint's answer
	// when it has one (FromUserinfo), else what the authorization learnt.
	Account      string
	FromUserinfo bool
	ExpiresAt    time.Time
	Failure      *Failure // when not OK
	now          time.Time
}

// Message words the result in English (the command line and the API; the
// console words it in the reader's language from the fields).
func (r TestResult) Message() string {
	if !r.OK {
		return r.Failure.Error()
	}
	valid := "no expiry was given"
	if !r.ExpiresAt.IsZero() {
		valid = "valid for " + Remaining(r.ExpiresAt.Sub(r.now))
	}
	switch {
	case r.FromUserinfo:
		return fmt.Sprintf("Signed in as %s; token %s", r.Account, valid)
	case r.Account != "":
		return fmt.Sprintf("Token obtained for %s (the provider has no user-info endpoint to ask); %s", r.Account, valid)
	}
	return fmt.Sprintf("Token obtained (the provider has no user-info endpoint to ask); %s", valid)
}

// Remaining words a duration as people say it: minutes from two minutes on,
// else seconds.
func Remaining(d time.Duration) string {
	if d >= 2*time.Minute {
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
	return fmt.Sprintf("%d seconds", max(0, int(d/time.Second)))
}

// Test obtains a current access token (refreshing it if needed) and asks the
// provider's user-info endpoint, when the integration has one, who it acts
// for. A provider's refusal is a result, not an error; errors are the
// server's own (the database).
func (s *Service) Test(ctx context.Context, a Actor, id string) (TestResult, error) {
	in, err := s.Get(ctx, a, id)
	if err != nil {
		return TestResult{}, err
	}
	r := TestResult{}
	// The whole test answers within answerWithin: the token, then the
	// user-info request in what is left.
	deadline := time.Now().Add(s.answerWithin)
	tok, err := s.AccessToken(ctx, id, false)
	if errors.As(err, &r.Failure) {
		return s.tested(ctx, a, in, r), nil
	}
	if err != nil {
		return TestResult{}, err
	}
	r.Account, r.ExpiresAt = tok.Account, tok.ExpiresAt
	if in.UserinfoURL != "" {
		account, f := s.userinfo(ctx, in.UserinfoURL, tok.AccessToken, time.Until(deadline))
		if f != nil {
			r.Failure = f
			return s.tested(ctx, a, in, r), nil
		}
		r.Account, r.FromUserinfo = account, true
	}
	r.OK = true
	return s.tested(ctx, a, in, r), nil
}

// tested stamps and audits a result.
func (s *Service) tested(ctx context.Context, a Actor, in store.Integration, r TestResult) TestResult {
	r.now = s.now()
	outcome := "failed: "
	if r.OK {
		outcome = "ok: "
	}
	s.record(ctx, a, audit.IntegrationTest, in, outcome+r.Message())
	return r
}

// HandOut is AccessToken for a caller outside Gatehouse (the token API, the
// command line): it finds the integration by ID or name, and audits the
// call without the token.
func (s *Service) HandOut(ctx context.Context, a Actor, idOrName string) (Token, error) {
	in, err := s.Find(ctx, a, idOrName)
	if err != nil {
		return Token{}, err
	}
	tok, err := s.tokenOf(ctx, in, false)
	if err != nil {
		s.record(ctx, a, audit.IntegrationToken, in, "refused: "+err.Error())
		return Token{}, err
	}
	// Handed out only once that is on record.
	if err := s.audit.Require(ctx, event(a, audit.IntegrationToken, in, "access token handed out, expires "+expiry(tok.ExpiresAt))); err != nil {
		return Token{}, err
	}
	return tok, nil
}

func expiry(t time.Time) string {
	if t.IsZero() {
		return "never (no lifetime given)"
	}
	return t.UTC().Format(time.RFC3339)
}
