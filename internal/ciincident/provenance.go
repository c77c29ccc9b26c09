package ciincident

import (
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"time"
)

// The statement and predicate layouts, in the field order their writers
// use: in-toto-golang's v0.1 statement and SLSA v0.2 predicate (what
// slsa-github-generator v1 writes, metadata.buildInvocationID spelt so),
// and the in-toto attestation v1 statement and SLSA v1 predicate.

type dsseEnvelope struct {
	PayloadType string          `json:"payloadType"`
	Payload     string          `json:"payload"`
	Signatures  []dsseSignature `json:"signatures"`
}

type dsseSignature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

type subjectJSON struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type statementV01JSON struct {
	Type          string        `json:"_type"`
	PredicateType string        `json:"predicateType"`
	Subject       []subjectJSON `json:"subject"`
	Predicate     any           `json:"predicate"`
}

type statementV1JSON struct {
	Type          string        `json:"_type"`
	Subject       []subjectJSON `json:"subject"`
	PredicateType string        `json:"predicateType"`
	Predicate     any           `json:"predicate"`
}

type materialJSON struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest"`
}

type predicateV02 struct {
	Builder struct {
		ID string `json:"id"`
	} `json:"builder"`
	BuildType  string `json:"buildType"`
	Invocation struct {
		ConfigSource struct {
			URI        string            `json:"uri"`
			Digest     map[string]string `json:"digest"`
			EntryPoint string            `json:"entryPoint"`
		} `json:"configSource"`
		Parameters  map[string]string `json:"parameters"`
		Environment map[string]any    `json:"environment"`
	} `json:"invocation"`
	Metadata struct {
		BuildInvocationID string     `json:"buildInvocationID"`
		BuildStartedOn    *time.Time `json:"buildStartedOn,omitempty"`
		BuildFinishedOn   *time.Time `json:"buildFinishedOn,omitempty"`
		Completeness      struct {
			Parameters  bool `json:"parameters"`
			Environment bool `json:"environment"`
			Materials   bool `json:"materials"`
		} `json:"completeness"`
		Reproducible bool `json:"reproducible"`
	} `json:"metadata"`
	Materials []materialJSON `json:"materials"`
}

type predicateV1 struct {
	BuildDefinition struct {
		BuildType          string `json:"buildType"`
		ExternalParameters struct {
			Workflow struct {
				Ref        string `json:"ref"`
				Repository string `json:"repository"`
				Path       string `json:"path"`
			} `json:"workflow"`
		} `json:"externalParameters"`
		InternalParameters struct {
			GitHub map[string]string `json:"github"`
		} `json:"internalParameters"`
		ResolvedDependencies []materialJSON `json:"resolvedDependencies"`
	} `json:"buildDefinition"`
	RunDetails struct {
		Builder struct {
			ID string `json:"id"`
		} `json:"builder"`
		Metadata struct {
			InvocationID string     `json:"invocationId"`
			StartedOn    *time.Time `json:"startedOn,omitempty"`
			FinishedOn   *time.Time `json:"finishedOn,omitempty"`
		} `json:"metadata"`
	} `json:"runDetails"`
}

// statement is a build's provenance: payload is the compact JSON a DSSE
// envelope carries, pretty the indented form of a bare provenance file.
type statement struct {
	payload []byte
	pretty  []byte
}

func provenanceStatement(b *Build, repo string, runID int64, rng *rand.Rand) *statement {
	var commit [20]byte
	for i := range commit {
		commit[i] = byte(rng.Uint32())
	}
	sha1 := hex.EncodeToString(commit[:])
	ref := "refs/tags/" + b.Name[strings.LastIndexByte(b.Name, '-')+1:]
	subjects := make([]subjectJSON, len(b.Subjects))
	for i, s := range b.Subjects {
		subjects[i] = subjectJSON{Name: s.Name, Digest: map[string]string{"sha256": strings.TrimPrefix(s.Digest, "sha256:")}}
	}
	started, finished := b.StartedOn, b.FinishedOn
	var st any
	if b.Predicate == provenanceV02 {
		var p predicateV02
		p.Builder.ID = b.BuilderID
		p.BuildType = genericBuildType
		p.Invocation.ConfigSource.URI = "git+" + repo + "@" + ref
		p.Invocation.ConfigSource.Digest = map[string]string{"sha1": sha1}
		p.Invocation.ConfigSource.EntryPoint = workflow
		p.Invocation.Parameters = map[string]string{}
		p.Invocation.Environment = map[string]any{
			"github_actor": "release-bot", "github_actor_id": "1234567", "github_base_ref": "",
			"github_event_name": "push", "github_event_payload": map[string]any{"ref": ref},
			"github_head_ref": "", "github_ref": ref, "github_ref_type": "tag",
			"github_repository_id": repoID, "github_repository_owner": strings.Split(strings.TrimPrefix(repo, "https://github.com/"), "/")[0],
			"github_repository_owner_id": ownerID, "github_run_attempt": "1",
			"github_run_id": itoa(runID), "github_run_number": itoa(runID % 1000), "github_sha1": sha1,
		}
		p.Metadata.BuildInvocationID = b.InvocationID
		p.Metadata.BuildStartedOn, p.Metadata.BuildFinishedOn = &started, &finished
		p.Metadata.Completeness.Parameters = true
		p.Materials = []materialJSON{{URI: p.Invocation.ConfigSource.URI, Digest: map[string]string{"sha1": sha1}}}
		st = statementV01JSON{Type: statementV01, PredicateType: provenanceV02, Subject: subjects, Predicate: p}
	} else {
		var p predicateV1
		p.BuildDefinition.BuildType = v1BuildTypeGen
		if b.BuilderID == runnerV1 {
			p.BuildDefinition.BuildType = v1BuildTypeGH
		}
		p.BuildDefinition.ExternalParameters.Workflow.Ref = ref
		p.BuildDefinition.ExternalParameters.Workflow.Repository = repo
		p.BuildDefinition.ExternalParameters.Workflow.Path = workflow
		p.BuildDefinition.InternalParameters.GitHub = map[string]string{"event_name": "push", "repository_id": repoID, "repository_owner_id": ownerID, "runner_environment": "github-hosted"}
		p.BuildDefinition.ResolvedDependencies = []materialJSON{{URI: "git+" + repo + "@" + ref, Digest: map[string]string{"gitCommit": sha1}}}
		p.RunDetails.Builder.ID = b.BuilderID
		p.RunDetails.Metadata.InvocationID = b.InvocationID
		p.RunDetails.Metadata.StartedOn = &started
		if b.BuilderID != runnerV1 { // GitHub's own attestations carry no times
			p.RunDetails.Metadata.FinishedOn = &finished
		}
		st = statementV1JSON{Type: statementV1, Subject: subjects, PredicateType: provenanceV1, Predicate: p}
	}
	payload, err := json.Marshal(st)
	if err != nil {
		panic(err) // strings, maps and times only
	}
	pretty, _ := json.MarshalIndent(st, "", "  ")
	return &statement{payload: payload, pretty: append(pretty, '\n')}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
