import type { DataSource, EntityManager } from 'typeorm';

/**
 * The directory of recipients, as data: who an organisation, a program or a panel member is to
 * write to (email, with a time zone), and the webhook endpoints of organisations and programs.
 */
export type ContactScope = 'organisation' | 'program' | 'person';
export type WebhookScope = 'organisation' | 'program';

export interface Contact {
  name: string;
  email: string;
  /** Within an organisation `lead` or `member`; in a program `program_manager`; a person: `reviewer`, `evaluator`, ... */
  role: string;
  timeZone: string;
}

export interface WebhookEndpoint {
  id: number;
  scope: WebhookScope;
  scopeId: string;
  url: string;
  /** Every listed secret signs (Standard Webhooks rotation: add the new one, drop the old one later). */
  secrets: string[];
  disabledAt: string | null;
  disabledReason: string | null;
}

export interface Audience {
  role: string;
  subject?: string;
  organisationId?: string;
  applicationId?: string;
}

interface ContactRow { scope: ContactScope; scope_id: string; name: string; email: string; role: string; time_zone: string }
interface WebhookRow { id: string; scope: WebhookScope; scope_id: string; url: string; secrets: string[]; disabled_at: Date | null; disabled_reason: string | null }

export class Directory {
  constructor(private readonly db: DataSource) {}

  /** Replaces the contacts of one organisation, program or person (an empty list removes them). */
  async setContacts(scope: ContactScope, scopeId: string, contacts: Contact[]): Promise<Contact[]> {
    await this.db.transaction(async (tx) => {
      await tx.query('DELETE FROM directory_contacts WHERE scope = $1 AND scope_id = $2', [scope, scopeId]);
      for (const c of contacts) {
        await tx.query(
          `INSERT INTO directory_contacts (scope, scope_id, email, name, role, time_zone) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (scope, scope_id, email) DO UPDATE SET name = $4, role = $5, time_zone = $6, updated_at = now()`,
          [scope, scopeId, c.email, c.name, c.role, c.timeZone],
        );
      }
    });
    return this.contacts(scope, scopeId);
  }

  async contacts(scope: ContactScope, scopeId: string, db: DataSource | EntityManager = this.db): Promise<Contact[]> {
    const rows = (await db.query('SELECT * FROM directory_contacts WHERE scope = $1 AND scope_id = $2 ORDER BY email', [scope, scopeId])) as ContactRow[];
    return rows.map((r) => ({ name: r.name, email: r.email, role: r.role, timeZone: r.time_zone }));
  }

  /** Adds an endpoint, or sets the secrets of one already there and turns it back on (after a 410). */
  async putWebhook(scope: WebhookScope, scopeId: string, url: string, secrets: string[]): Promise<WebhookEndpoint> {
    const [row] = (await this.db.query(
      `INSERT INTO directory_webhooks (scope, scope_id, url, secrets) VALUES ($1, $2, $3, $4)
       ON CONFLICT (scope, scope_id, url) DO UPDATE SET secrets = $4, disabled_at = NULL, disabled_reason = NULL RETURNING *`,
      [scope, scopeId, url, secrets],
    )) as WebhookRow[];
    return toWebhook(row);
  }

  async webhooks(scope: WebhookScope, scopeId: string, db: DataSource | EntityManager = this.db): Promise<WebhookEndpoint[]> {
    const rows = (await db.query('SELECT * FROM directory_webhooks WHERE scope = $1 AND scope_id = $2 ORDER BY id', [scope, scopeId])) as WebhookRow[];
    return rows.map(toWebhook);
  }

  async webhook(id: number, db: DataSource | EntityManager = this.db): Promise<WebhookEndpoint | null> {
    const [row] = (await db.query('SELECT * FROM directory_webhooks WHERE id = $1', [id])) as WebhookRow[];
    return row ? toWebhook(row) : null;
  }

  async disableWebhook(id: number, reason: string, db: DataSource | EntityManager = this.db): Promise<void> {
    await db.query('UPDATE directory_webhooks SET disabled_at = now(), disabled_reason = $2 WHERE id = $1 AND disabled_at IS NULL', [id, reason]);
  }

  /**
   * The people and endpoints an audience of a cycle means: a team is the organisations of its
   * application (lead and members, from the cycle's read model); program managers and the GPU pool
   * are the program's contacts; a panel member is the person named by their subject.
   */
  async resolve(cycleId: string, audience: Audience, db: DataSource | EntityManager = this.db): Promise<{ contacts: Contact[]; webhooks: WebhookEndpoint[] }> {
    if (audience.role === 'applicant') {
      const organisations = audience.applicationId ? await this.organisationsOf(cycleId, audience.applicationId, db) : [audience.organisationId ?? ''];
      const contacts: Contact[] = [];
      const webhooks: WebhookEndpoint[] = [];
      for (const org of organisations.filter(Boolean)) {
        contacts.push(...(await this.contacts('organisation', org, db)));
        webhooks.push(...(await this.webhooks('organisation', org, db)));
      }
      return { contacts, webhooks };
    }
    if ((audience.role === 'reviewer' || audience.role === 'evaluator') && audience.subject) {
      return { contacts: await this.contacts('person', audience.subject, db), webhooks: [] };
    }
    const program = programOf(cycleId);
    return { contacts: await this.contacts('program', program, db), webhooks: await this.webhooks('program', program, db) };
  }

  private async organisationsOf(cycleId: string, applicationId: string, db: DataSource | EntityManager): Promise<string[]> {
    const [row] = (await db.query('SELECT organisation_ids FROM cycle_applications WHERE cycle_id = $1 AND application_id = $2', [cycleId, applicationId])) as { organisation_ids: string[] }[];
    return row?.organisation_ids ?? [];
  }
}

/** `cycle:<programSlug>:<year>` → the program's slug. */
export function programOf(cycleId: string): string {
  return cycleId.split(':')[1] ?? '';
}

function toWebhook(r: WebhookRow): WebhookEndpoint {
  return { id: Number(r.id), scope: r.scope, scopeId: r.scope_id, url: r.url, secrets: r.secrets, disabledAt: r.disabled_at?.toISOString() ?? null, disabledReason: r.disabled_reason };
}
