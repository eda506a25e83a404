import { modeSuite } from "./support/registrySuite.js"

modeSuite("anon", "fetch")
