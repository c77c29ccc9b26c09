package idincident

import (
	"encoding/json"
	"time"

	"github.com/forgehunt/forgehunt/internal/genfiles"
	"github.com/forgehunt/forgehunt/internal/seeded"
)

func (sc *scenario) write(w *genfiles.Files) error {
	for rel, k := range map[string][]byte{K8sKeyFile: seeded.PublicPEM(sc.k8sKey), ADFSKeyFile: seeded.PublicPEM(sc.adfsKey), OktaKeyFile: seeded.PublicPEM(sc.okta)} {
		if _, err := w.Out(rel).Write(k); err != nil {
			return err
		}
	}
	for _, f := range []func(*genfiles.Files) error{sc.writeK8s, sc.writeCloudTrail, sc.writeEntra, sc.writeADFS, sc.writeOkta, sc.writeGateway} {
		if err := f(w); err != nil {
			return err
		}
	}
	return nil
}

// writeOkta writes the org's System Log as log streaming delivers it: one
// LogEvent per line.
func (sc *scenario) writeOkta(w *genfiles.Files) error {
	out := w.Out(OktaDir + "/system-log.jsonl")
	for _, e := range sc.oktaEvents {
		if err := WriteOktaEvent(out, e); err != nil {
			return err
		}
	}
	return nil
}

// writeGateway writes the API gateway's JSON access log, the bearer token
// in its authorization field.
func (sc *scenario) writeGateway(w *genfiles.Files) error {
	out := w.Out(GatewayLog)
	for _, h := range sc.gateway {
		line, err := json.Marshal(struct {
			Time          string `json:"time"`
			Service       string `json:"service"`
			Method        string `json:"method"`
			Path          string `json:"path"`
			Status        int    `json:"status"`
			ClientIP      string `json:"client_ip"`
			User          string `json:"user"`
			Authorization string `json:"authorization"`
		}{h.at.UTC().Format(time.RFC3339Nano), "orders-api", "GET", h.path, h.status, h.ip, h.user, "Bearer " + h.token})
		if err != nil {
			return err
		}
		if _, err := out.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	return nil
}
