import { spawn } from "node:child_process"
import type { ChildProcess, SpawnOptions } from "node:child_process"
import * as fs from "node:fs"

/** Long-running children (registries) of this process, SIGKILLed when the process exits. */
const live = new Set<ChildProcess>()
let installed = false

const killGroup = (child: ChildProcess, signal: NodeJS.Signals): void => {
  const pid = child.pid
  if (pid === undefined) return
  try {
    process.kill(-pid, signal)
  } catch {
    try {
      child.kill(signal)
    } catch {
      // already gone
    }
  }
}

/** Tracks a child spawned with `detached: true` (its own process group). */
export const track = (child: ChildProcess): void => {
  if (!installed) {
    installed = true
    process.on("exit", () => {
      for (const c of live) killGroup(c, "SIGKILL")
    })
  }
  live.add(child)
  child.once("exit", () => live.delete(child))
}

export const untrack = (child: ChildProcess): void => {
  live.delete(child)
}

/** Whether any process of the group led by `pid` is still there. */
const groupAlive = (pid: number): boolean => {
  try {
    process.kill(-pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * SIGKILLs the child's process group and resolves once the child has exited and the rest of its group (the
 * registry under its watchdog shell) is gone too, or after 5 s.
 */
export const killAndWait = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    const deadline = Date.now() + 5_000
    const pid = child.pid
    const whenGroupGone = () => {
      untrack(child)
      const poll = () => {
        if (pid === undefined || !groupAlive(pid) || Date.now() > deadline) return resolve()
        killGroup(child, "SIGKILL")
        setTimeout(poll, 10)
      }
      poll()
    }
    if (child.exitCode !== null || child.signalCode !== null) return whenGroupGone()
    const timer = setTimeout(() => resolve(), 5_000)
    child.once("exit", () => {
      clearTimeout(timer)
      whenGroupGone()
    })
    killGroup(child, "SIGKILL")
  })

/**
 * Spawns `file` in a process group of its own, tracked, its stdout and stderr written to `logPath` (created
 * afresh, given to `owner` when set) and its stdin a pipe (a watchdog shell reads it to learn that this process
 * ended; errors on it are ignored).
 */
export const spawnLogged = (
  file: string,
  args: ReadonlyArray<string>,
  logPath: string,
  options: SpawnOptions & { readonly owner?: { readonly uid: number; readonly gid: number } | undefined }
): ChildProcess => {
  const { owner, ...spawnOptions } = options
  const fd = fs.openSync(logPath, "w")
  try {
    if (owner !== undefined) fs.fchownSync(fd, owner.uid, owner.gid)
    const child = spawn(file, args, { ...spawnOptions, stdio: ["pipe", fd, fd], detached: true })
    child.stdin?.on("error", () => {})
    child.on("error", () => {})
    track(child)
    return child
  } finally {
    fs.closeSync(fd)
  }
}
