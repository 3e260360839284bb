package codecserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
)

// Paths of the sign-in flow on the front.
const (
	LoginPath    = "/auth/login"
	CallbackPath = "/auth/callback"
	LogoutPath   = "/auth/logout"
)

// SignInOptions configure operators' sign-in through an OpenID Connect provider.
type SignInOptions struct {
	// Issuer is the provider's issuer URL (its /.well-known/openid-configuration is read).
	Issuer, ClientID, ClientSecret string
	// RedirectURL is the front's CallbackPath as the browser reaches it.
	RedirectURL string
	// MaxAge ends a session this long after sign-in; Idle ends one unused this long (HIPAA's
	// automatic logoff).
	MaxAge, Idle time.Duration
	// HTTPClient reaches the provider (nil: http.DefaultClient).
	HTTPClient *http.Client
	Log        zerolog.Logger
	// Now is the clock (nil: time.Now); tests move it.
	Now func() time.Time
}

// Person is who a session belongs to: the provider's subject, and a name to show (the email or
// preferred user name, else the subject).
type Person struct{ Subject, Name string }

type personKey struct{}

// PersonFrom is the signed-in person a request was made by (SignIn.Protect puts it there).
func PersonFrom(ctx context.Context) (Person, bool) {
	p, ok := ctx.Value(personKey{}).(Person)
	return p, ok
}

// SignIn signs operators in through an OpenID Connect provider (the authorization code flow,
// with state and nonce) and keeps their sessions in memory: a session cookie (HttpOnly, Secure,
// SameSite=Lax) names one, which ends MaxAge after sign-in or Idle after its last request. A
// restart of the front signs everyone out.
type SignIn struct {
	o        SignInOptions
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier

	mu       sync.Mutex
	sessions map[string]*session
	pending  map[string]pending // state → nonce and where to return
}

type session struct {
	person         Person
	started, using time.Time
}

type pending struct {
	nonce, returnTo string
	at              time.Time
}

const (
	sessionCookie = "careclock_session"
	pendingMax    = 10 * time.Minute
)

// NewSignIn discovers the provider and returns the sign-in flow.
func NewSignIn(ctx context.Context, o SignInOptions) (*SignIn, error) {
	if o.Issuer == "" || o.ClientID == "" || o.RedirectURL == "" {
		return nil, errors.New("sign-in: the issuer, the client id and the redirect URL are all required")
	}
	if o.MaxAge <= 0 || o.Idle <= 0 || o.Idle > o.MaxAge {
		return nil, fmt.Errorf("sign-in: session max age %s and idle %s: both positive, idle not longer", o.MaxAge, o.Idle)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, o.HTTPClient)
	}
	provider, err := oidc.NewProvider(ctx, o.Issuer)
	if err != nil {
		return nil, fmt.Errorf("sign-in: the provider at %s: %w", o.Issuer, err)
	}
	return &SignIn{
		o: o,
		oauth: oauth2.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: o.RedirectURL,
			Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email", "profile"}},
		verifier: provider.Verifier(&oidc.Config{ClientID: o.ClientID}), // the token's own times, on the real clock
		sessions: map[string]*session{},
		pending:  map[string]pending{},
	}, nil
}

// Protect serves the sign-in paths and lets through only requests of a live session, with its
// Person in their context. Without one, a page (GET of a non-API path) is sent to sign in; any
// other request gets 401.
func (s *SignIn) Protect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case LoginPath:
			s.login(w, r)
			return
		case CallbackPath:
			s.callback(w, r)
			return
		case LogoutPath:
			s.logout(w, r)
			return
		}
		person, ok := s.person(r)
		if !ok {
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasPrefix(r.URL.Path, CodecPath+"/") {
				http.Redirect(w, r, LoginPath+"?to="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
				return
			}
			http.Error(w, "unauthorized: sign in again", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), personKey{}, person)))
	})
}

// person is the live session's person, and marks the session used.
func (s *SignIn) person(r *http.Request) (Person, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return Person{}, false
	}
	now := s.o.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.sessions[c.Value]
	if !ok {
		return Person{}, false
	}
	if now.Sub(se.started) >= s.o.MaxAge || now.Sub(se.using) >= s.o.Idle {
		delete(s.sessions, c.Value)
		s.o.Log.Info().Str("person", se.person.Name).Msg("session expired")
		return Person{}, false
	}
	se.using = now
	return se.person, true
}

func (s *SignIn) login(w http.ResponseWriter, r *http.Request) {
	state, err := randomID()
	if err != nil {
		http.Error(w, "sign-in unavailable", http.StatusInternalServerError)
		return
	}
	nonce, err := randomID()
	if err != nil {
		http.Error(w, "sign-in unavailable", http.StatusInternalServerError)
		return
	}
	to := r.URL.Query().Get("to")
	if !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") {
		to = "/" // only a path of this origin: no open redirect
	}
	now := s.o.Now()
	s.mu.Lock()
	for k, p := range s.pending {
		if now.Sub(p.at) > pendingMax {
			delete(s.pending, k)
		}
	}
	s.pending[state] = pending{nonce: nonce, returnTo: to, at: now}
	s.mu.Unlock()
	http.Redirect(w, r, s.oauth.AuthCodeURL(state, oidc.Nonce(nonce)), http.StatusFound)
}

func (s *SignIn) callback(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	s.mu.Lock()
	p, ok := s.pending[state]
	delete(s.pending, state)
	s.mu.Unlock()
	if !ok || s.o.Now().Sub(p.at) > pendingMax {
		http.Error(w, "sign-in expired or not started here: start again", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	if s.o.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, s.o.HTTPClient)
	}
	token, err := s.oauth.Exchange(ctx, r.URL.Query().Get("code"))
	if err != nil {
		s.o.Log.Warn().Err(err).Msg("sign-in: code exchange refused")
		http.Error(w, "sign-in refused", http.StatusUnauthorized)
		return
	}
	raw, _ := token.Extra("id_token").(string)
	id, err := s.verifier.Verify(ctx, raw)
	if err != nil || id.Nonce != p.nonce {
		s.o.Log.Warn().AnErr("error", err).Msg("sign-in: id token refused")
		http.Error(w, "sign-in refused", http.StatusUnauthorized)
		return
	}
	var claims struct {
		Email             string `json:"email"`
		PreferredUsername string `json:"preferred_username"`
	}
	if err := id.Claims(&claims); err != nil {
		http.Error(w, "sign-in refused", http.StatusUnauthorized)
		return
	}
	person := Person{Subject: id.Subject, Name: firstOf(claims.Email, claims.PreferredUsername, id.Subject)}
	sid, err := randomID()
	if err != nil {
		http.Error(w, "sign-in unavailable", http.StatusInternalServerError)
		return
	}
	now := s.o.Now()
	s.mu.Lock()
	s.sessions[sid] = &session{person: person, started: now, using: now}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.o.MaxAge.Seconds())})
	s.o.Log.Info().Str("person", person.Name).Msg("signed in")
	http.Redirect(w, r, p.returnTo, http.StatusFound)
}

func (s *SignIn) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: true, MaxAge: -1})
	http.Error(w, "signed out", http.StatusOK)
}

func randomID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
