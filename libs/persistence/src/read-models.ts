import type { DataSource } from 'typeorm';

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

/** Reads from the projections. Writes to these tables happen only through the event store. */
export class ReadModels {
  constructor(private readonly db: DataSource) {}

  async programs(): Promise<ProgramView[]> {
    const rows = await this.db.query(`${PROGRAM_SELECT} ORDER BY p.created_at`);
    return rows.map(toProgram);
  }

  async program(slug: string): Promise<ProgramView | undefined> {
    const [row] = await this.db.query(`${PROGRAM_SELECT} WHERE p.slug = $1`, [slug]);
    return row ? toProgram(row) : undefined;
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
