/** The OS around axptr: for now, the trap entry and its page-fault handler. */
export * from './trap.js';
