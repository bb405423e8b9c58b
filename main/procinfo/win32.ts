// Windows: PowerShell (no cmd.exe shell) finds the TCP connection whose local end is the client's and its owning
// process, then that process's executable path and command line, as one JSON object.
import { isIP } from 'node:net';
import { splitWindowsCommandLine, type ProcInfo } from './name.js';
import type { ConnectionAddress, Run } from './lookup.js';
import { normalizeIp } from './linux.js';

/** The PowerShell script. Only a validated IP address and integer ports are put in it. */
export function psScript(conn: ConnectionAddress): string {
  const ip = normalizeIp(conn.remoteAddress);
  if (!isIP(ip) || !Number.isInteger(conn.remotePort)) throw new Error('not an IP address and port');
  return (
    `$c = Get-NetTCPConnection -LocalAddress '${ip}' -LocalPort ${conn.remotePort} -State Established -ErrorAction SilentlyContinue | Select-Object -First 1; ` +
    `if ($c) { $p = Get-CimInstance Win32_Process -Filter "ProcessId=$($c.OwningProcess)"; ` +
    `[pscustomobject]@{ pid = [int]$c.OwningProcess; exe = $p.ExecutablePath; name = $p.Name; cmd = $p.CommandLine } | ConvertTo-Json -Compress }`
  );
}

export function powershellArgs(conn: ConnectionAddress): string[] {
  return ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', psScript(conn)];
}

export function parsePowershell(out: string): ProcInfo | undefined {
  const text = out.trim();
  if (!text) return undefined;
  let o: { pid?: unknown; exe?: unknown; name?: unknown; cmd?: unknown };
  try {
    o = JSON.parse(text) as typeof o;
  } catch {
    return undefined;
  }
  const pid = Number(o.pid);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const exe = typeof o.exe === 'string' && o.exe ? o.exe : typeof o.name === 'string' ? o.name : '';
  const argv = typeof o.cmd === 'string' && o.cmd ? splitWindowsCommandLine(o.cmd) : exe ? [exe] : [];
  return { pid, exe, argv };
}

export async function lookupWin32(conn: ConnectionAddress, run: Run): Promise<ProcInfo | undefined> {
  return parsePowershell(await run('powershell.exe', powershellArgs(conn)));
}
