import { Inject, Injectable } from '@nestjs/common';
import { Directory, NotificationReads, type ContactScope, type NotificationView, type WebhookScope } from '@concentra/notifications';
import type { Principal } from '@concentra/auth';
import type { PutContacts, PutWebhook } from './notifications.schemas';

const CONTACT_SCOPE: Record<string, ContactScope> = { organisations: 'organisation', programs: 'program', people: 'person' };
const WEBHOOK_SCOPE: Record<string, WebhookScope> = { organisations: 'organisation', programs: 'program' };

@Injectable()
export class NotificationsService {
  constructor(
    @Inject(Directory) private readonly directory: Directory,
    @Inject(NotificationReads) private readonly reads: NotificationReads,
  ) {}

  contacts(scope: string, id: string) {
    return this.directory.contacts(CONTACT_SCOPE[scope], id);
  }

  setContacts(scope: string, id: string, body: PutContacts) {
    return this.directory.setContacts(CONTACT_SCOPE[scope], id, body.contacts);
  }

  async webhooks(scope: string, id: string) {
    return (await this.directory.webhooks(WEBHOOK_SCOPE[scope], id)).map(({ secrets, ...w }) => ({ ...w, secrets: secrets.length }));
  }

  async putWebhook(scope: string, id: string, body: PutWebhook) {
    const { secrets, ...w } = await this.directory.putWebhook(WEBHOOK_SCOPE[scope], id, body.url, body.secrets);
    return { ...w, secrets: secrets.length };
  }

  /** Addresses are personal data: program managers see them, auditors see the domain only. */
  forCycle(cycleId: string, status: string | undefined, p: Principal): Promise<NotificationView[]> {
    return this.reads.forCycle(cycleId, { status, maskAddresses: p.role !== 'program_manager' && p.role !== 'admin' });
  }

  redeliver(cycleId: string, key: string, p: Principal) {
    return this.reads.redeliver(cycleId, key, p.sub);
  }
}
