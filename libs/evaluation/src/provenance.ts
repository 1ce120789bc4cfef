/**
 * The originality gate's evidence: a submitted artifact whose checksum is a known public model's
 * fails, whatever the team named it. The verdict carries what was compared with what, so the
 * recorded gate can be checked without trusting this code.
 */
import type { ProvenanceRegistry } from './catalogue';

export interface SubmittedArtifact {
  name: string;
  sha256: string;
}

export interface ProvenanceEvidence {
  artifact: string;
  sha256: string;
  /** Public releases carrying this exact file. */
  matches: Array<{ model: string; source: string; file: string }>;
}

export interface ProvenanceVerdict {
  verdict: 'pass' | 'fail';
  /** SHA-256 of the registry the artifacts were compared against. */
  registryVersion: string;
  evidence: ProvenanceEvidence[];
  reason: string;
}

export function checkProvenance(artifacts: readonly SubmittedArtifact[], registry: ProvenanceRegistry, registryVersion: string): ProvenanceVerdict {
  const evidence = artifacts.map((a) => ({
    artifact: a.name,
    sha256: a.sha256,
    matches: registry.models.flatMap((m) => m.artifacts.filter((f) => f.sha256 === a.sha256).map((f) => ({ model: m.model, source: m.source, file: f.file }))),
  }));
  const copied = evidence.filter((e) => e.matches.length > 0);
  const reason =
    artifacts.length === 0
      ? 'no artifacts submitted: nothing to compare'
      : copied.length === 0
        ? `none of ${artifacts.length} artifact(s) matches a known public model`
        : copied.map((e) => `${e.artifact} is ${e.matches.map((m) => `${m.model}/${m.file}`).join(', ')}`).join('; ');
  return { verdict: copied.length === 0 ? 'pass' : 'fail', registryVersion, evidence, reason };
}
