// What an application runs before anything else, with `node --import ./register.mjs app.mjs`:
// the SDK and the HTTP instrumentation, before Express (or anything that loads node:http) is
// loaded. Here spans are kept in memory, for the scenario to print; an application exports them.
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export const exporter = new InMemorySpanExporter();

const ended = [];
/** Resolves once `count` server spans have ended: the last one ends after its response. */
export function serverSpansEnded(count) {
  return new Promise((resolve) => {
    const check = () => {
      if (exporter.getFinishedSpans().filter((span) => span.kind === 1).length < count) return;
      ended.splice(ended.indexOf(check), 1);
      resolve(exporter.getFinishedSpans());
    };
    ended.push(check);
    check();
  });
}

const provider = new NodeTracerProvider({
  spanProcessors: [
    new SimpleSpanProcessor(exporter),
    {
      onStart() {},
      onEnd() {
        for (const check of [...ended]) check();
      },
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    },
  ],
});
// Registers the provider, the W3C trace context propagator and an AsyncLocalStorage context manager.
provider.register();
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });
