import type { DataSource } from 'typeorm';
import { pgPool } from './event-store/append-statements';

export interface ProgramView {
  slug: string;
  name: string;
  policyHash: string;
  policy: Record<string, unknown>;
  createdBy: string;
  createdAt: string;
}

export interface CycleView {
  id: string;
  programSlug: string;
  year: number;
  stage: string;
  policyHash: string;
  callClosesAt: string | null;
  openedAt: string;
  updatedAt: string;
  lastPosition: number;
}

/** Policy documents kept at most (the oldest forgotten first). */
const POLICIES_KEPT = 256;

/** Reads from the projections. Writes to these tables happen only through the event store. */
export class ReadModels {
  /**
   * Policy documents by their hash. A hash names one document for ever (policy_versions is keyed by
   * the document's own hash; a rebuild writes the same document back), so a document read once is
   * kept: a program read is then one small row, not the policy's JSON parsed again each time.
   */
  private readonly policies = new Map<string, Readonly<Record<string, unknown>>>();

  constructor(private readonly db: DataSource) {}

  async programs(): Promise<ProgramView[]> {
    const rows = await this.db.query(`${PROGRAM_SELECT} ORDER BY p.created_at`);
    return rows.map(toProgram);
  }

  /** One prepared statement for the program's row; its policy from `policies` (or read once by hash). */
  async program(slug: string): Promise<ProgramView | undefined> {
    const { rows } = await pgPool(this.db).query({ name: 'concentra_program_v1', text: 'SELECT slug, name, policy_hash, created_by, created_at FROM programs WHERE slug = $1', values: [slug] });
    const row = rows[0] as Row | undefined;
    if (!row) return undefined;
    const hash = (row.policy_hash as string).trim();
    let policy = this.policies.get(hash);
    if (!policy) {
      const { rows: documents } = await pgPool(this.db).query({ name: 'concentra_policy_version_v1', text: 'SELECT document FROM policy_versions WHERE hash = $1', values: [hash] });
      if (documents.length === 0) return undefined; // as the join did: no policy version, no program
      policy = deepFreeze((documents[0] as { document: Record<string, unknown> }).document);
      if (this.policies.size >= POLICIES_KEPT) this.policies.delete(this.policies.keys().next().value!);
      this.policies.set(hash, policy);
    }
    return toProgram({ ...row, policy });
  }

  async cycle(id: string): Promise<CycleView | undefined> {
    const [row] = await this.db.query('SELECT * FROM cycles WHERE id = $1', [id]);
    return row ? toCycle(row) : undefined;
  }

  async cyclesOf(programSlug: string): Promise<CycleView[]> {
    const rows = await this.db.query('SELECT * FROM cycles WHERE program_slug = $1 ORDER BY year', [programSlug]);
    return rows.map(toCycle);
  }
}

const PROGRAM_SELECT = `SELECT p.*, v.document AS policy FROM programs p JOIN policy_versions v ON v.hash = p.policy_hash`;

type Row = Record<string, unknown>;

/** Shared by every read of a cached document: nobody may change it. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : (v as string | null));

function toProgram(row: Row): ProgramView {
  return {
    slug: row.slug as string,
    name: row.name as string,
    policyHash: (row.policy_hash as string).trim(),
    policy: row.policy as Record<string, unknown>,
    createdBy: row.created_by as string,
    createdAt: iso(row.created_at) as string,
  };
}

function toCycle(row: Row): CycleView {
  return {
    id: row.id as string,
    programSlug: row.program_slug as string,
    year: row.year as number,
    stage: row.stage as string,
    policyHash: (row.policy_hash as string).trim(),
    callClosesAt: iso(row.call_closes_at),
    openedAt: iso(row.opened_at) as string,
    updatedAt: iso(row.updated_at) as string,
    lastPosition: row.last_position as number,
  };
}
