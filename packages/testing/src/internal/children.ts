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

/** SIGKILLs the child's process group and resolves once the child has exited. */
export const killAndWait = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      untrack(child)
      return resolve()
    }
    const timer = setTimeout(() => resolve(), 5_000)
    child.once("exit", () => {
      clearTimeout(timer)
      untrack(child)
      resolve()
    })
    killGroup(child, "SIGKILL")
  })
