import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

export interface ReceivedMail {
  messageId: string;
  to: string[];
  parsed: ParsedMail;
  raw: Buffer;
}

export interface SmtpSink {
  url: string;
  port: number;
  received: ReceivedMail[];
  close(): Promise<void>;
}

export interface SmtpSinkOptions {
  port?: number;
  /** Also write each message as `<n>.eml` here, for people to open. */
  folder?: string;
  /** Called with each whole message before the server answers 250; may hold the answer back. */
  beforeAccept?: (mail: ReceivedMail) => Promise<void> | void;
}

/**
 * A real SMTP server on loopback that keeps what it receives: the local stand-in for a mail relay
 * (`npm start` without SMTP_URL) and the receiving end of the tests, which parse every message.
 */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const received: ReceivedMail[] = [];
  if (options.folder) mkdirSync(options.folder, { recursive: true });
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (error?: Error | null) => void) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        void simpleParser(raw)
          .then(async (parsed) => {
            const mail: ReceivedMail = { messageId: parsed.messageId ?? '', to: session.envelope.rcptTo.map((r) => r.address), parsed, raw };
            received.push(mail);
            if (options.folder) writeFileSync(join(options.folder, `${new Date().toISOString().replace(/[:.]/g, '-')}-${received.length}.eml`), raw);
            await options.beforeAccept?.(mail);
            callback();
          })
          .catch((error: Error) => callback(error));
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * `npm start` without SMTP_URL: a sink on loopback (port SMTP_SINK_PORT, default 2525, or any free
 * one) that writes every message the worker sends into `folder` as an .eml file to open.
 */
export async function startLocalMail(folder: string): Promise<{ smtpUrl: string; where: string; stop: () => Promise<void> }> {
  const wanted = Number(process.env.SMTP_SINK_PORT ?? 2525);
  const sink = await startSmtpSink({ port: wanted, folder }).catch(() => startSmtpSink({ folder }));
  return { smtpUrl: sink.url, where: `${sink.url}, each message written to ${folder} as an .eml file`, stop: () => sink.close() };
}
