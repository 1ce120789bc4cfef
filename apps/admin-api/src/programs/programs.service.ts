import { Inject, Injectable } from '@nestjs/common';
import { DomainError, defaultPolicyDocument, parsePolicy, policyHash } from '@concentra/domain';
import { EventStore, ReadModels, type ProgramView } from '@concentra/persistence';
import type { Principal } from '@concentra/auth';
import type { CreateProgram } from './programs.schemas';

export function programStreamId(slug: string): string {
  return `program:${slug}`;
}

/** Programs are created by the API itself (no workflow): one `ProgramCreated` event per program. */
@Injectable()
export class ProgramsService {
  constructor(
    @Inject(EventStore) private readonly events: EventStore,
    @Inject(ReadModels) private readonly reads: ReadModels,
  ) {}

  async create(body: CreateProgram, actor: Principal): Promise<ProgramView> {
    // A policy belongs to one program: its `program` field is the program's slug.
    const document = body.policy ?? defaultPolicyDocument;
    if (body.policy?.program !== undefined && body.policy.program !== body.slug) {
      throw new DomainError('validation_failed', `must be the program's slug "${body.slug}" (or left out)`, 'policy.program');
    }
    const policy = parsePolicy({ ...document, program: body.slug });
    if (await this.reads.program(body.slug)) {
      throw new DomainError('conflict', `a program '${body.slug}' already exists`, 'slug');
    }
    const hash = policyHash(policy);
    const streamId = programStreamId(body.slug);
    // expectedPosition 0: of two concurrent creates of one slug, exactly one is stored.
    await this.events.append(
      streamId,
      [
        {
          eventId: `${streamId}#1`,
          type: 'ProgramCreated',
          data: { slug: body.slug, name: body.name, policy: policy as unknown as Record<string, unknown>, policyHash: hash },
          metadata: { actor: { role: actor.role, subject: actor.sub, organisationId: actor.org }, policyHash: hash },
          occurredAt: new Date().toISOString(),
        },
      ],
      { expectedPosition: 0 },
    );
    return (await this.reads.program(body.slug)) as ProgramView;
  }

  async get(slug: string): Promise<ProgramView> {
    const program = await this.reads.program(slug);
    if (!program) throw new DomainError('not_found', `no program '${slug}'`, 'slug');
    return program;
  }

  list(): Promise<ProgramView[]> {
    return this.reads.programs();
  }
}
