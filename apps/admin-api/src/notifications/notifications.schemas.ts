import { z } from 'zod';
import { record } from '../http/answers';

const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'an IANA time zone such as Asia/Seoul');

export const ContactSchema = z.strictObject({
  name: z.string().min(1).max(200),
  email: z.email(),
  role: z.string().min(1).max(50),
  timeZone: timeZone.default('UTC'),
});

export const PutContactsSchema = z.strictObject({ contacts: z.array(ContactSchema).max(200) });
export type PutContacts = z.output<typeof PutContactsSchema>;

export const PutWebhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  /** Standard Webhooks secrets (`whsec_` + base64); two while rotating. */
  secrets: z.array(z.string().regex(/^(whsec_)?[A-Za-z0-9+/]+=*$/, 'a base64 secret, optionally prefixed whsec_').min(8)).min(1).max(5),
});
export type PutWebhook = z.output<typeof PutWebhookSchema>;

export const ContactScopeSchema = z.enum(['organisations', 'programs', 'people']);
export const WebhookScopeSchema = z.enum(['organisations', 'programs']);
export const NotificationsQuerySchema = z.strictObject({ status: z.enum(['pending', 'delivered', 'dead', 'unaddressed']).optional() });

/** What the routes answer (the contract's success bodies). */
const NotificationAnswer = record({
  key: z.string(),
  kind: z.string(),
  channel: z.string(),
  status: z.enum(['pending', 'delivered', 'dead', 'unaddressed']),
});
export const NotificationsAnswer = z.array(NotificationAnswer);
export const RedeliveryAnswer = record({ key: z.string(), status: z.string() });
export const ContactsAnswer = z.array(record({ name: z.string(), email: z.string(), role: z.string(), timeZone: z.string() }));
const WebhookAnswer = record({ id: z.number(), url: z.string(), secrets: z.number().int().describe('how many secrets are set (never the secrets)'), disabledAt: z.string().nullable() });
export const WebhooksAnswer = z.array(WebhookAnswer);
export { WebhookAnswer };
