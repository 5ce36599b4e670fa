/** workerpool needs its functions registered from inside the worker. */
import workerpool from 'workerpool';
import { fib } from './fib.mjs';

workerpool.worker({ fib });
