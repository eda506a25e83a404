// Small loopback HTTP servers for faults the shared token server does not produce.
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as http from "node:http"

export interface LoopbackServer {
  readonly url: string
  readonly hits: () => number
}

export const serve = (
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void
): Effect.Effect<LoopbackServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    let hits = 0
    const server = yield* Effect.acquireRelease(
      Effect.async<http.Server>((resume) => {
        const server = http.createServer((req, res) => {
          hits++
          handler(req, res)
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    return { url: `http://127.0.0.1:${port}`, hits: () => hits }
  })

export const json = (res: http.ServerResponse, status: number, body: unknown) => {
  const data = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(data)) })
  res.end(data)
}

/** Waits (real time, not the test clock) until `condition` holds, up to ~5 s. */
export const eventually = <A>(check: Effect.Effect<A>, condition: (a: A) => boolean): Effect.Effect<A> =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      const value = yield* check
      if (condition(value)) return value
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
    }
    return yield* Effect.dieMessage("condition not reached within 5 s")
  })
