package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"golang.org/x/net/websocket"
)

// devtools is one page's connection to Chromium's DevTools protocol: JSON commands with ids over
// a WebSocket, answered in order of their ids; events in between are passed over.
type devtools struct {
	ws     *websocket.Conn
	nextID int
}

// openPage connects to the first page of the browser listening on hostPort.
func openPage(ctx context.Context, hostPort string) (*devtools, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+hostPort+"/json/list", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("devtools: %w", err)
	}
	defer resp.Body.Close()
	var targets []struct {
		Type string `json:"type"`
		URL  string `json:"webSocketDebuggerUrl"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil {
		return nil, fmt.Errorf("devtools targets: %w", err)
	}
	for _, t := range targets {
		if t.Type == "page" {
			ws, err := websocket.Dial(t.URL, "", "http://localhost")
			if err != nil {
				return nil, fmt.Errorf("devtools page: %w", err)
			}
			ws.MaxPayloadBytes = 64 << 20 // screenshots are large
			return &devtools{ws: ws}, nil
		}
	}
	return nil, fmt.Errorf("devtools: no page among %d targets", len(targets))
}

// call sends one command and decodes its result into result (nil: ignored).
func (d *devtools) call(ctx context.Context, method string, params any, result any) error {
	d.nextID++
	id := d.nextID
	if deadline, ok := ctx.Deadline(); ok {
		if err := d.ws.SetDeadline(deadline); err != nil {
			return err
		}
	}
	if err := websocket.JSON.Send(d.ws, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	for {
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := websocket.JSON.Receive(d.ws, &msg); err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		if msg.ID != id {
			continue // an event, or the answer to an abandoned command
		}
		if msg.Error != nil {
			return fmt.Errorf("%s: %s", method, msg.Error.Message)
		}
		if result == nil {
			return nil
		}
		return json.Unmarshal(msg.Result, result)
	}
}

func (d *devtools) close() {
	if err := d.ws.Close(); err != nil {
		fmt.Println("devtools close:", err)
	}
}
