import { createTransport, type Transporter } from 'nodemailer';
import { Webhook } from 'standardwebhooks';
import type { DeliveryContent } from './addresser';

/** How one attempt went: delivered, worth retrying, refused for good, or the endpoint is gone (410). */
export type SendOutcome = { ok: true } | { ok: false; retry: boolean; gone?: boolean; error: string };

export interface EmailMessage {
  to: string;
  messageId: string;
  content: DeliveryContent;
}

/** Email through an SMTP relay; the Message-ID is the delivery's own, so a resend after a crash is recognisable. */
export class EmailSender {
  private readonly transport: Transporter;

  constructor(
    smtpUrl: string,
    private readonly from = 'Concentra <notifications@concentra.local>',
  ) {
    this.transport = createTransport(smtpUrl);
  }

  async send(message: EmailMessage): Promise<SendOutcome> {
    try {
      await this.transport.sendMail({
        from: this.from,
        to: message.to,
        subject: message.content.subject,
        text: message.content.text,
        html: message.content.html,
        messageId: message.messageId,
      });
      return { ok: true };
    } catch (error) {
      const code = (error as { responseCode?: number }).responseCode;
      // A 5xx answer refuses the message itself (no such mailbox); anything else (connection, 4xx) may pass later.
      return { ok: false, retry: !(code !== undefined && code >= 500), error: `smtp: ${(error as Error).message}` };
    }
  }

  close(): void {
    this.transport.close();
  }
}

export interface WebhookMessage {
  url: string;
  secrets: string[];
  webhookId: string;
  payload: Record<string, unknown>;
}

/**
 * Standard Webhooks 1.0: `webhook-id` (the delivery's id, the same on every retry), `webhook-timestamp`
 * (when this attempt is made, by the wall clock: receivers check it against theirs) and one
 * `v1,<HMAC-SHA256>` signature per secret, space-separated, so a receiver holding either the old or
 * the new secret accepts the message while secrets rotate.
 */
export class WebhookSender {
  constructor(private readonly timeoutMs = 10_000) {}

  async send(message: WebhookMessage): Promise<SendOutcome> {
    const body = JSON.stringify(message.payload);
    const timestamp = new Date();
    const signature = message.secrets.map((secret) => new Webhook(secret).sign(message.webhookId, timestamp, body)).join(' ');
    try {
      const response = await fetch(message.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': message.webhookId,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { ok: true };
      if (response.status === 410) return { ok: false, retry: false, gone: true, error: 'webhook: 410 Gone: endpoint disabled' };
      return { ok: false, retry: true, error: `webhook: HTTP ${response.status}` };
    } catch (error) {
      return { ok: false, retry: true, error: `webhook: ${(error as Error).message}` };
    }
  }
}
