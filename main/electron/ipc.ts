// IPC between the window and the main process. Every handler checks who is calling (the top frame of one of our
// router67://app pages) and parses its input with zod before the service sees it.
import type { IpcMainInvokeEvent } from 'electron';
import type { z } from 'zod';
import type { UiService } from '../ui/service.js';
import {
  ConfigDraftSchema,
  describeInputError,
  ExplainRequestSchema,
  RoutesDraftSchema,
  ExternalUrlInput,
  InterceptInput,
  LogIdInput,
  LogLimitInput,
  ResendInput,
  SignInDeviceInput,
  SignInFlowIdInput,
  SignInNameInput,
  UsageQueryInput,
  StarterIdsInput,
} from '../ui/wire.js';
import { isAppUrl } from './protocol.js';

export const CH = {
  features: 'r67:features',
  status: 'r67:status',
  loadConfig: 'r67:config:load',
  validate: 'r67:config:validate',
  save: 'r67:config:save',
  setIntercept: 'r67:intercept',
  setupIntercept: 'r67:intercept:setup',
  firstRun: 'r67:firstrun',
  writeStarter: 'r67:firstrun:write',
  recentLog: 'r67:log:recent',
  logEntry: 'r67:log:entry',
  resend: 'r67:log:resend',
  openExternal: 'r67:open-external',
  signInState: 'r67:signin:state',
  signInStart: 'r67:signin:start',
  signInCancel: 'r67:signin:cancel',
  signOut: 'r67:signin:logout',
  loadRoutes: 'r67:routes:load',
  validateRoutes: 'r67:routes:validate',
  saveRoutes: 'r67:routes:save',
  explainRoute: 'r67:routes:explain',
  usage: 'r67:usage',
  event: 'r67:event',
} as const;

export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

export class IpcRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpcRefused';
  }
}

/** Only the top frame of our own page may call. */
export function trustedSender(event: Pick<IpcMainInvokeEvent, 'senderFrame'>): boolean {
  const f = event.senderFrame;
  if (!f) return false;
  if (f.parent) return false;
  return isAppUrl(f.url);
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new IpcRefused(describeInputError(r.error));
  return r.data;
}

export interface IpcOptions {
  openExternal(url: string): Promise<void>;
}

/** Registers every handler; returns a function that removes them. */
export function registerIpc(ipc: IpcMainLike, service: UiService, opts: IpcOptions): () => void {
  const handlers: Record<string, (args: unknown[]) => unknown> = {
    [CH.features]: () => service.features(),
    [CH.status]: () => service.status(),
    [CH.loadConfig]: () => service.loadConfig(),
    [CH.validate]: ([d]) => service.validate(parse(ConfigDraftSchema, d)),
    [CH.save]: ([d]) => service.save(parse(ConfigDraftSchema, d)),
    [CH.setIntercept]: ([on]) => service.setIntercept(parse(InterceptInput, on)),
    [CH.setupIntercept]: () => service.setupIntercept(),
    [CH.firstRun]: () => service.firstRun(),
    [CH.writeStarter]: ([ids]) => service.writeStarter(parse(StarterIdsInput, ids)),
    [CH.recentLog]: ([n]) => service.recentLog(parse(LogLimitInput, n)),
    [CH.logEntry]: ([id]) => service.logEntry(parse(LogIdInput, id)),
    [CH.resend]: ([r]) => service.resend(parse(ResendInput, r)),
    [CH.openExternal]: ([url]) => opts.openExternal(parse(ExternalUrlInput, url)),
    [CH.signInState]: () => service.signInState(),
    [CH.signInStart]: ([name, device]) => service.signInStart(parse(SignInNameInput, name), parse(SignInDeviceInput, device)),
    [CH.signInCancel]: ([id]) => service.signInCancel(parse(SignInFlowIdInput, id)),
    [CH.signOut]: ([name]) => service.signOut(parse(SignInNameInput, name)),
    [CH.loadRoutes]: () => service.loadRoutes(),
    [CH.validateRoutes]: ([d]) => service.validateRoutes(parse(RoutesDraftSchema, d)),
    [CH.saveRoutes]: ([d]) => service.saveRoutes(parse(RoutesDraftSchema, d)),
    [CH.explainRoute]: ([r]) => service.explainRoute(parse(ExplainRequestSchema, r)),
    [CH.usage]: ([q]) => service.usage(parse(UsageQueryInput, q)),
  };
  for (const [channel, fn] of Object.entries(handlers)) {
    ipc.handle(channel, (event, ...args) => {
      if (!trustedSender(event)) throw new IpcRefused(`${channel}: refused, the caller is not the router67 window`);
      return fn(args);
    });
  }
  return () => {
    for (const channel of Object.keys(handlers)) ipc.removeHandler(channel);
  };
}
