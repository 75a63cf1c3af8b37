// The account pages without buttons of their own (security activity): keep their relative times fresh.

import { keepTimesFresh } from "./time.js";

keepTimesFresh();
