/**
 * The Node.js-specific part of the lock files: who this process is (pid, host name, pid namespace) and whether a
 * process of this host is alive. Kept in one module so the rest of the lock is plain `FileSystem` code.
 *
 * @since 0.4.0
 */
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"

/**
 * The process that takes a lock: its pid, the host name it runs on and, on Linux, its pid namespace
 * (`/proc/self/ns/pid`): containers sharing the host's name (`--network host`) do not share pids.
 *
 * @internal
 */
export interface Owner {
  readonly pid: number
  readonly hostname: string
  readonly pidNamespace?: string
}

let owner: Owner | undefined

/** @internal */
export const currentOwner = (): Owner => {
  if (owner === undefined) {
    let pidNamespace: string | undefined
    try {
      pidNamespace = NodeFs.readlinkSync("/proc/self/ns/pid")
    } catch {
      pidNamespace = undefined
    }
    owner = { pid: process.pid, hostname: NodeOs.hostname(), ...(pidNamespace === undefined ? {} : { pidNamespace }) }
  }
  // the pid changes in a forked child, nothing else does
  return owner.pid === process.pid ? owner : (owner = { ...owner, pid: process.pid })
}

/**
 * Whether a process of this host (and pid namespace) is alive: `kill(pid, 0)` delivers no signal, it only
 * checks; `ESRCH` means there is no such process, `EPERM` that there is one, run by another user.
 *
 * @internal
 */
export const isProcessAlive = (pid: number): boolean => {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as { readonly code?: unknown }).code !== "ESRCH"
  }
}
