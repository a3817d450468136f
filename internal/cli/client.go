package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/callbacksim/callbacksim/internal/buildinfo"
)

// Environment variables the client commands read when their flag is not
// given. The admin token is read from EnvToken, else from EnvAdminToken:
// the server's own name for it (admin.token), so that one exported
// variable serves both.
const (
	EnvAPI        = "CALLBACKSIM_API"
	EnvToken      = "CALLBACKSIM_TOKEN"
	EnvAdminToken = "CALLBACKSIM_ADMIN_TOKEN"
)

// foreignEnv are the CALLBACKSIM_* variables that name no configuration
// key: the client commands' own, and the test suite's (internal/redistest,
// examples). serve and merchant leave them alone, and refuse any other
// unknown CALLBACKSIM_* variable as a likely typo.
var foreignEnv = []string{EnvAPI, EnvToken, "CALLBACKSIM_TEST_REDIS_URL", "CALLBACKSIM_EXAMPLES"}

// DefaultAPI is the simulator the client commands talk to by default.
const DefaultAPI = "http://127.0.0.1:8080"

// errUnreachable wraps failures to get any answer from the API.
var errUnreachable = errors.New("the simulator's API is unreachable")

// apiError is an error answer of the simulator: its own {"error", "field"}
// shape, or CinetPay's {"code", "message", "description"}.
type apiError struct {
	Status  int
	Message string
	Field   string
}

func (e *apiError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (field %s; HTTP %d)", e.Message, e.Field, e.Status)
	}
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
}

// exitCode is the exit code of an API error.
func (e *apiError) exitCode() int {
	switch {
	case e.Status == http.StatusUnauthorized:
		return ExitConfig
	case e.Status == http.StatusNotFound:
		return ExitNotFound
	case e.Status == http.StatusBadRequest, e.Status == http.StatusRequestEntityTooLarge:
		return ExitUsage
	}
	return ExitError
}

// clientFlags are the flags every command that talks to a running
// simulator shares.
type clientFlags struct {
	api   string
	token string
	json  bool
}

func (f *clientFlags) register(cmd *cobra.Command) {
	p := cmd.PersistentFlags()
	p.StringVar(&f.api, "api", "", "base URL of the simulator's API (env "+EnvAPI+"; default "+DefaultAPI+")")
	p.StringVar(&f.token, "token", "", "admin token of the operator API (env "+EnvAdminToken+" or "+EnvToken+")")
	p.BoolVar(&f.json, "json", false, "print JSON for scripts instead of human tables")
}

// client talks to a running simulator's HTTP API.
type client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// newClient checks the flags (or their environment variables) and returns
// a client. needToken says whether the command uses the operator API.
func (f *clientFlags) newClient(needToken bool) (*client, error) {
	api := f.api
	if api == "" {
		api = os.Getenv(EnvAPI)
	}
	if api == "" {
		api = DefaultAPI
	}
	u, err := url.Parse(strings.TrimRight(api, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, exitCodeError{ExitConfig, fmt.Errorf("--api (or %s) must be the simulator's base URL, such as %s; got %q", EnvAPI, DefaultAPI, api)}
	}
	token := f.token
	for _, env := range []string{EnvToken, EnvAdminToken} {
		if token == "" {
			token = os.Getenv(env)
		}
	}
	if needToken && token == "" {
		return nil, exitCodeError{ExitConfig, fmt.Errorf("no admin token: pass --token or set %s (callbacksim serve prints the line to export at start-up)", EnvAdminToken)}
	}
	return &client{base: u, token: token, http: &http.Client{Timeout: 2 * time.Minute}}, nil
}

// do sends method path with body (JSON, nil for none), using the admin token
// when admin is set, and decodes a 2xx answer into out (nil: ignore it). It
// returns the raw answer body too.
func (c *client) do(ctx context.Context, method, path string, body any, admin bool, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "callbacksim-cli/"+buildinfo.Read().Version)
	if admin {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, exitCodeError{ExitUnreachable, fmt.Errorf("%w at %s: %w", errUnreachable, c.base.Redacted(), err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, exitCodeError{ExitUnreachable, fmt.Errorf("%w: reading the answer to %s %s: %w", errUnreachable, method, path, err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return raw, decodeAPIError(resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return raw, fmt.Errorf("%s %s: the answer is not the JSON expected (%w): %.200s", method, path, err, raw)
		}
	}
	return raw, nil
}

func decodeAPIError(status int, raw []byte) *apiError {
	var body struct {
		Error       string `json:"error"`
		Field       string `json:"field"`
		Code        any    `json:"code"`
		Message     string `json:"message"`
		Description string `json:"description"`
	}
	e := &apiError{Status: status}
	if json.Unmarshal(raw, &body) == nil {
		switch {
		case body.Error != "":
			e.Message, e.Field = body.Error, body.Field
		case body.Message != "":
			e.Message = fmt.Sprintf("%v %s", body.Code, body.Message)
			if body.Description != "" {
				e.Message += ": " + body.Description
			}
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(http.StatusText(status) + " " + sanitize(string(bytes.TrimSpace(raw[:min(len(raw), 200)]))))
	}
	return e
}

// printJSON writes v indented, or raw JSON as it came (re-indented).
func printJSON(w io.Writer, v any) error {
	if raw, ok := v.([]byte); ok {
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return fmt.Errorf("the answer is not JSON: %w", err)
		}
		buf.WriteByte('\n')
		_, err := w.Write(buf.Bytes())
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
