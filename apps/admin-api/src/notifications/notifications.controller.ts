import { Body, Controller, Get, HttpCode, Inject, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Allow } from '../auth/roles';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '@concentra/auth';
import { ZodPipe } from '../http/zod-body.pipe';
import { Answers } from '../http/answers';
import {
  ContactScopeSchema,
  ContactsAnswer,
  NotificationsAnswer,
  NotificationsQuerySchema,
  PutContactsSchema,
  PutWebhookSchema,
  RedeliveryAnswer,
  WebhookAnswer,
  WebhooksAnswer,
  WebhookScopeSchema,
  type PutContacts,
  type PutWebhook,
} from './notifications.schemas';
import { NotificationsService } from './notifications.service';

/** What a cycle told whom, and redelivery of what never arrived. */
@ApiTags('notifications')
@ApiBearerAuth()
@Controller('v1/cycles/:id/notifications')
export class CycleNotificationsController {
  constructor(@Inject(NotificationsService) private readonly notifications: NotificationsService) {}

  @Get()
  @Allow('program_manager', 'auditor')
  @ApiOperation({ summary: 'Who was told what, when, by which channel, delivered or not (auditors see no email addresses)' })
  @Answers(NotificationsAnswer)
  list(@Param('id') id: string, @Query(new ZodPipe(NotificationsQuerySchema, 'query')) query: z.output<typeof NotificationsQuerySchema>, @CurrentPrincipal() p: Principal) {
    return this.notifications.forCycle(id, query.status, p);
  }

  @Post(':key/redeliver')
  @HttpCode(202)
  @Allow('program_manager')
  @Answers(RedeliveryAnswer)
  @ApiOperation({ summary: 'Deliver a dead-lettered notification again (same message id), or address an unaddressed one again' })
  redeliver(@Param('id') id: string, @Param('key') key: string, @CurrentPrincipal() p: Principal) {
    return this.notifications.redeliver(id, key, p);
  }
}

/** The directory of recipients: personal data, for admins and program managers only. */
@ApiTags('directory')
@ApiBearerAuth()
@Controller('v1/directory')
export class DirectoryController {
  constructor(@Inject(NotificationsService) private readonly notifications: NotificationsService) {}

  @Get(':scope/:id/contacts')
  @Allow('admin', 'program_manager')
  @Answers(ContactsAnswer)
  @ApiOperation({ summary: "An organisation's, a program's or a panel member's (people/<subject>) contacts" })
  contacts(@Param('scope', new ZodPipe(ContactScopeSchema, 'scope')) scope: string, @Param('id') id: string) {
    return this.notifications.contacts(scope, id);
  }

  @Put(':scope/:id/contacts')
  @Allow('admin', 'program_manager')
  @ApiOperation({ summary: 'Replace the contacts (name, email, role, time zone) of an organisation, a program (its managers) or a panel member' })
  @Answers(ContactsAnswer)
  setContacts(@Param('scope', new ZodPipe(ContactScopeSchema, 'scope')) scope: string, @Param('id') id: string, @Body(new ZodPipe(PutContactsSchema)) body: PutContacts) {
    return this.notifications.setContacts(scope, id, body);
  }

  @Get(':scope/:id/webhooks')
  @Allow('admin', 'program_manager')
  @Answers(WebhooksAnswer)
  @ApiOperation({ summary: "An organisation's or a program's webhook endpoints (secrets counted, never shown)" })
  webhooks(@Param('scope', new ZodPipe(WebhookScopeSchema, 'scope')) scope: string, @Param('id') id: string) {
    return this.notifications.webhooks(scope, id);
  }

  @Put(':scope/:id/webhooks')
  @Allow('admin', 'program_manager')
  @ApiOperation({ summary: 'Add a Standard Webhooks endpoint, or set its secrets (rotation) and enable it again' })
  @Answers(WebhookAnswer)
  putWebhook(@Param('scope', new ZodPipe(WebhookScopeSchema, 'scope')) scope: string, @Param('id') id: string, @Body(new ZodPipe(PutWebhookSchema)) body: PutWebhook) {
    return this.notifications.putWebhook(scope, id, body);
  }
}
