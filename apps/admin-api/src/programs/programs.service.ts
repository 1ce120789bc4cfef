import { Inject, Injectable } from '@nestjs/common';
import { DomainError, decideProgram, evolveProgram, noProgram, programStreamId, type ProgramEvent } from '@concentra/domain';
import { EventStore, ReadModels, type ProgramView } from '@concentra/persistence';
import type { Principal } from '@concentra/auth';
import type { CreateProgram } from './programs.schemas';

/**
 * Programs are created by the API itself (no workflow): the domain's program decider decides
 * (`decideProgram`: the policy's program is the slug, one program per slug) and its
 * `ProgramCreated` is appended to `program:<slug>`.
 */
@Injectable()
export class ProgramsService {
  constructor(
    @Inject(EventStore) private readonly events: EventStore,
    @Inject(ReadModels) private readonly reads: ReadModels,
  ) {}

  async create(body: CreateProgram, actor: Principal): Promise<ProgramView> {
    const streamId = programStreamId(body.slug);
    const history = (await this.events.readStream(streamId)).map((e) => ({ type: e.type, data: e.data }) as unknown as ProgramEvent);
    const decided = decideProgram({ type: 'CreateProgram', data: body }, history.reduce(evolveProgram, noProgram));
    const by = { role: actor.role, subject: actor.sub, organisationId: actor.org };
    // expectedPosition: of two concurrent creates of one slug, exactly one is stored.
    await this.events.append(
      streamId,
      decided.map((event, i) => ({
        eventId: `${streamId}#${history.length + i + 1}`,
        type: event.type,
        data: event.data as unknown as Record<string, unknown>,
        metadata: { actor: by, policyHash: event.data.policyHash },
        occurredAt: new Date().toISOString(),
      })),
      { expectedPosition: history.length },
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
