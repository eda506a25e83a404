// Fails when more than one copy of `effect` is installed: two copies break type identity and
// `instanceof`/Schema checks at run time. Run by `pnpm check:effect` and by `pnpm test:all`.
import { readdirSync } from "node:fs"

const store = new URL("../node_modules/.pnpm/", import.meta.url)
const copies = readdirSync(store).filter((entry) => /^effect@\d/.test(entry))
if (copies.length !== 1) {
  console.error(`expected exactly one copy of effect, found ${copies.length}: ${copies.join(", ") || "none"}`)
  console.error("align every package on the catalog version (pnpm-workspace.yaml) and run pnpm install")
  process.exit(1)
}
console.log(`effect: one copy (${copies[0]})`)
