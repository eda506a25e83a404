import type { ChildProcess } from "node:child_process"

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
