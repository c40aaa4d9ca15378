package oauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestServerErrorStatus(t *testing.T) {
	for _, c := range []struct {
		name      string
		cause     error
		status    int
		loggedErr bool
	}{
		{"database failure", errors.New("disk I/O error"), http.StatusInternalServerError, true},
		{"caller went away", fmt.Errorf("sqlstore: issue tokens: %w", context.Canceled), StatusClientClosedRequest, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			rec := httptest.NewRecorder()
			writeError(rec, slog.New(slog.NewTextHandler(&logs, nil)), serverError(c.cause))
			if rec.Code != c.status {
				t.Errorf("status %d, want %d", rec.Code, c.status)
			}
			if got := strings.Contains(logs.String(), "level=ERROR"); got != c.loggedErr {
				t.Errorf("logged at ERROR = %v, want %v: %s", got, c.loggedErr, logs.String())
			}
		})
	}
}
