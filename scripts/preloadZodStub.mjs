// Stand-in for zod in the preload bundle only. The preload needs the contract's channel names
// (`Object.keys(requestSchemas)`), never its schemas: main validates every payload with the real zod.
// Every property and call of this stand-in returns itself, so the contract module evaluates, and
// ~450 KB of zod stay out of a script that runs on every page load. test/electron runs the built
// preload to check the exposed API still has every channel.
const schema = new Proxy(function zodStandIn() {}, {
  get: (_target, key) => (key === 'then' || typeof key === 'symbol' ? undefined : schema),
  apply: () => schema,
});

export const z = schema;
export default schema;
