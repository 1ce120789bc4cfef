import { defaultPolicy, defaultPolicyDocument } from '../policy/defaults';
import { policyHash } from '../policy/parse';
import { DomainError } from '../shared/errors';
import { decideProgram, evolveProgram, noProgram, type CreateProgram, type ProgramEvent } from './program';

/** given(events).when(command).then(events) / .thenThrows(code, field), as the cycle's specs read. */
function given(...events: ProgramEvent[]) {
  const state = events.reduce(evolveProgram, noProgram);
  return {
    when(command: CreateProgram) {
      return {
        then: (expected: ProgramEvent[]) => expect(decideProgram(command, state)).toEqual(expected),
        thenThrows(code: DomainError['code'], field: string) {
          let error: unknown;
          try {
            decideProgram(command, state);
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(DomainError);
          expect(error).toMatchObject({ code, field });
        },
      };
    },
  };
}

const create = (data: Partial<CreateProgram['data']> = {}): CreateProgram => ({ type: 'CreateProgram', data: { slug: 'national-ai', name: 'National AI models', ...data } });
const onDefaultPolicy = { ...defaultPolicy, program: 'national-ai' };
const created: ProgramEvent = { type: 'ProgramCreated', data: { slug: 'national-ai', name: 'National AI models', policy: onDefaultPolicy, policyHash: policyHash(onDefaultPolicy) } };

describe('creating a program', () => {
  it('given nothing, when a program is created without a policy, then it runs on the default policy named after its slug', () => {
    given().when(create()).then([created]);
  });

  it("a policy whose program is left out or is the slug is the program's; its hash is recorded", () => {
    given().when(create({ policy: { ...defaultPolicyDocument, program: undefined } })).then([created]);
    given().when(create({ policy: { ...defaultPolicyDocument, program: 'national-ai' } })).then([created]);
  });

  it("refuses a policy that names another program, naming the field", () => {
    given().when(create({ policy: { ...defaultPolicyDocument, program: 'another' } })).thenThrows('validation_failed', 'policy.program');
  });

  it('refuses an invalid policy with its fields', () => {
    given().when(create({ policy: { ...defaultPolicyDocument, program: 'national-ai', stages: [] } })).thenThrows('validation_failed', 'stages');
  });

  it('given a program of that slug, refuses a second one (a conflict)', () => {
    given(created).when(create({ name: 'Another name' })).thenThrows('conflict', 'slug');
  });
});
