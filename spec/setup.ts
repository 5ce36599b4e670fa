/** Mocha root hooks: every executor a test made is shut down after it. */
import { shutdownAll } from './helpers.js';

export const mochaHooks = {
  async afterEach(): Promise<void> {
    await shutdownAll();
  },
};
