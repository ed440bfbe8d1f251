/** `npm run bench`: every benchmark under bench/, one after the other; each writes its section of RESULTS.md. */
await import('./groups/overhead.ts');
await import('./groups/cancellation.ts');
await import('./semaphore/run.ts');
await import('./semaphore/redis-instructions.ts');
await import('./groups/scale.ts');
await import('./telemetry/run.ts');
