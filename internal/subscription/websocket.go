package subscription

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// binding is what a websocket binding token grants: notifications of
// these subscriptions, until it expires.
type binding struct {
	subs    []string
	expires time.Time
}

// BindingToken answers $get-ws-binding-token for subscription id, whose
// reading the caller has authorised: a Parameters resource with a token
// (random, 128 bits), its expiration, the subscription and the websocket
// URL. ok is false when id is not a running websocket subscription. The
// requester of ctx must itself be allowed what the subscription selects
// ([Engine.Check]; 403 otherwise): reading a Subscription is not reading
// what it sends.
func (e *Engine) BindingToken(ctx context.Context, id string) (body []byte, ok bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	w := e.workers[id]
	if w == nil || w.sub.Channel != WebSocket {
		return nil, false, nil
	}
	if err := e.checkAccess(ctx, w.sub); err != nil {
		return nil, false, err
	}
	now := e.opts.Now()
	for t, b := range e.tokens {
		if now.After(b.expires) {
			delete(e.tokens, t)
		}
	}
	token := rand.Text()
	exp := now.Add(e.opts.TokenTTL)
	e.tokens[token] = binding{subs: []string{id}, expires: exp}
	body, err = json.Marshal(map[string]any{"resourceType": "Parameters", "parameter": []param{
		{Name: "token", ValueString: token},
		{Name: "expiration", ValueInstant: exp.UTC().Format(time.RFC3339)},
		{Name: "subscription", ValueString: id},
		{Name: "websocket-url", ValueString: e.opts.WebSocketURL},
	}})
	return body, err == nil, err
}

// wsConn is one websocket client; out is its send queue.
type wsConn struct {
	out chan []byte
}

// ServeWebSocket serves the websocket channel (backport IG): the client
// sends "bind-with-token TOKEN" (a token of $get-ws-binding-token) and
// gets a handshake notification per subscription the token names, then
// their event and heartbeat notifications as text messages;
// "unbind-with-token TOKEN" stops them. The token is the credential, so
// this handler needs no bearer token. Connections end when Run returns. A
// client that does not keep up loses notifications (the gap shows in the
// event numbers).
func (e *Engine) ServeWebSocket(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered
	}
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	conn := &wsConn{out: make(chan []byte, 64)}
	defer e.unbind(conn, nil)
	go func() {
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case <-e.stopped:
				c.Close(websocket.StatusGoingAway, "server stopping")
				return
			case msg := <-conn.out:
				if c.Write(ctx, websocket.MessageText, msg) != nil {
					return
				}
			}
		}
	}()
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		verb, token, _ := strings.Cut(strings.TrimSpace(string(data)), " ")
		switch verb {
		case "bind-with-token":
			subs, ok := e.bind(conn, strings.TrimSpace(token))
			if !ok {
				c.Close(websocket.StatusPolicyViolation, "unknown or expired token")
				return
			}
			for _, id := range subs {
				e.mu.Lock()
				wk := e.workers[id]
				e.mu.Unlock()
				if wk == nil {
					continue
				}
				if hs, err := notification(wk.state(typeHandshake), wk.sub.Content, nil, e.opts.Now()); err == nil {
					e.enqueue(conn, hs)
				}
			}
		case "unbind-with-token":
			e.mu.Lock()
			b, ok := e.tokens[strings.TrimSpace(token)]
			e.mu.Unlock()
			if ok {
				e.unbind(conn, b.subs)
			}
		}
	}
}

// bind attaches conn to the subscriptions of token.
func (e *Engine) bind(conn *wsConn, token string) ([]string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.tokens[token]
	if !ok || e.opts.Now().After(b.expires) {
		return nil, false
	}
	for _, id := range b.subs {
		if e.conns[id] == nil {
			e.conns[id] = map[*wsConn]struct{}{}
		}
		e.conns[id][conn] = struct{}{}
	}
	return b.subs, true
}

// unbind detaches conn from subs (nil: from all).
func (e *Engine) unbind(conn *wsConn, subs []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, cs := range e.conns {
		if subs == nil || slices.Contains(subs, id) {
			delete(cs, conn)
			if len(cs) == 0 {
				delete(e.conns, id)
			}
		}
	}
}

// broadcast queues body to every connection bound to subscription id.
func (e *Engine) broadcast(id string, body []byte) {
	e.mu.Lock()
	cs := make([]*wsConn, 0, len(e.conns[id]))
	for c := range e.conns[id] {
		cs = append(cs, c)
	}
	e.mu.Unlock()
	for _, c := range cs {
		e.enqueue(c, body)
	}
}

func (e *Engine) enqueue(c *wsConn, body []byte) {
	select {
	case c.out <- body:
	default:
		e.opts.Logger.Warn("subscription: a websocket client is behind; a notification is dropped")
	}
}
