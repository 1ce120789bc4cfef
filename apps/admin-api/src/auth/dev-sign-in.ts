import { Body, Controller, HttpCode, Inject, Module, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ROLES, issueToken } from '@concentra/auth';
import { AppEnvironment, ConfigModule, jwtSecret } from '@concentra/config';
import { Answers, record } from '../http/answers';
import { ZodPipe } from '../http/zod-body.pipe';
import { Public } from './roles';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/, 'letters, digits and . _ @ : - (at most 128)');

export const DevSignInSchema = z
  .strictObject({
    role: z.enum(ROLES),
    /** The organisation an applicant acts for (required for applicants); reviewers' and evaluators' own, for conflicts. */
    org: name.optional(),
    /** Who signs in; `local-<role>` when absent. */
    sub: name.optional(),
  })
  .refine((b) => b.role !== 'applicant' || b.org !== undefined, { message: 'an applicant acts for an organisation: give org', path: ['org'] });

export const DevSignInAnswer = record({
  token: z.string(),
  principal: record({ sub: z.string(), role: z.enum(ROLES), org: z.string().optional() }),
  expiresIn: z.string(),
});

/**
 * The console's local sign-in: a token for any role, signed with the API's own key. It exists only
 * outside production (createAdminApi leaves this module out when NODE_ENV=production, so the route
 * is a 404 there and is not in the document); production tokens come from the identity provider.
 */
@ApiTags('development')
@Controller('v1/dev')
export class DevSignInController {
  constructor(@Inject(AppEnvironment) private readonly env: AppEnvironment) {}

  @Post('tokens')
  @HttpCode(201)
  @Public()
  @Answers(DevSignInAnswer)
  @ApiOperation({ summary: 'Development only (absent when NODE_ENV=production): a bearer token for a role, for the console\'s local sign-in' })
  issue(@Body(new ZodPipe(DevSignInSchema)) body: z.infer<typeof DevSignInSchema>) {
    const principal = { sub: body.sub ?? `local-${body.role}`, role: body.role, ...(body.org ? { org: body.org } : {}) };
    return { token: issueToken(principal, jwtSecret(this.env), this.env.AUTH_JWT_ISSUER, '12h'), principal, expiresIn: '12h' };
  }
}

@Module({ imports: [ConfigModule], controllers: [DevSignInController] })
export class DevSignInModule {}
