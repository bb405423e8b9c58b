// `router67 helper <operation> <args>`: the privileged operations (main/system/helper.ts). Run as root/admin,
// normally through the OS prompt that install, uninstall and the daemon raise.
import { HELPER_USAGE, runHelper } from '../system/helper.js';
import type { Command } from './command.js';

export const helperCommand: Command = {
  summary: 'privileged operations (run elevated by install/daemon; not for everyday use)',
  help: HELPER_USAGE,
  run: (args) => runHelper(args),
};
