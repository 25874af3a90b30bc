/** pino logger with secrets redacted wherever they could appear. Pretty output in a TTY. */
import { pino, type Logger, type DestinationStream } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-admin-token"]',
  '*.headers["x-admin-token"]',
  'headers["x-admin-token"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.access_token',
  '*.refresh_token',
  '*.apiKey',
  'token',
  'accessToken',
  'refreshToken',
  // Headers and credentials wherever a log object carries them.
  'req.headers["proxy-authorization"]',
  'headers["x-api-key"]',
  'headers["proxy-authorization"]',
  'headers["set-cookie"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["x-api-key"]',
  '*.headers["proxy-authorization"]',
  '*.headers["set-cookie"]',
  'authorization',
  'cookie',
  'password',
  'apiKey',
  '*.authorization',
  '*.cookie',
  '*.password',
  '*.apiKeys',
  '*.kimiTokens',
  '*.metricsToken',
  '*.adminToken',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'kimi-proxy' } };
  if (destination) return pino(options, destination);
  if (process.stdout.isTTY) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } } });
  }
  return pino(options);
}
