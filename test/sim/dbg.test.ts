import { it } from 'vitest';
import { runScenario } from '/work/wt/h2/test/sim/simulation.js';
it('dbg', async () => { process.env.BM_DBG = '1'; try { await runScenario(55); } catch (e) { console.log(String(e).slice(0, 300)); } }, 60000);
