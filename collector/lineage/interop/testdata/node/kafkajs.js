// One service of the kafkajs chain checkout → orders.a → shipper → orders.b → audit,
// traced by the official @opentelemetry/instrumentation-kafkajs and exported over
// OTLP/HTTP protobuf, as any Node.js team would run it. No Causeway code here.
//
//   node kafkajs.js checkout|shipper|audit
//
// Environment: BROKERS (comma-separated), OTLP_URL (…/v1/traces), ORDERS (how many),
// PREFIX (topic and group prefix, so runs sharing a broker stay apart) and
// CORRELATION_HOOK=1 to give checkout the one-line producer hook of
// docs/compatibility.md (it copies the causeway-correlation-id header into
// messaging.message.conversation_id); the other services never get a hook.
'use strict';

const role = process.argv[2];
const brokers = process.env.BROKERS.split(',');
const orders = Number(process.env.ORDERS || 20);
const prefix = process.env.PREFIX || '';
const topicA = prefix + 'orders.a';
const topicB = prefix + 'orders.b';

const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { KafkaJsInstrumentation } = require('@opentelemetry/instrumentation-kafkajs');

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': role }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: process.env.OTLP_URL }), { scheduledDelayMillis: 100 })],
});
provider.register();

const config = {};
if (role === 'checkout' && process.env.CORRELATION_HOOK === '1') {
  // The hook of docs/compatibility.md, verbatim.
  config.producerHook = (span, { message }) => {
    const id = message.headers && message.headers['causeway-correlation-id'];
    if (id) span.setAttribute('messaging.message.conversation_id', String(id));
  };
}
registerInstrumentations({ instrumentations: [new KafkaJsInstrumentation(config)] });

// kafkajs must be loaded after the instrumentation is registered.
const { Kafka, logLevel } = require('kafkajs');
const kafka = new Kafka({ clientId: role, brokers, logLevel: logLevel.ERROR, retry: { retries: 10 } });

async function done(code) {
  await provider.forceFlush();
  await provider.shutdown();
  process.exit(code);
}

async function checkout() {
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 1; i <= orders; i++) {
    const id = `order-${i}`;
    await producer.send({
      topic: topicA,
      messages: [{ key: id, value: JSON.stringify({ order: id }), headers: { 'causeway-correlation-id': `corr-${id}` } }],
    });
  }
  await producer.disconnect();
}

async function consume(group, topic, handle) {
  const consumer = kafka.consumer({ groupId: prefix + group });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  await new Promise((resolve, reject) => {
    consumer.run({
      eachMessage: async ({ message }) => {
        await handle(message);
        if (++seen === orders) resolve();
      },
    }).catch(reject);
  });
  await consumer.disconnect();
}

async function shipper() {
  const producer = kafka.producer();
  await producer.connect();
  await consume('shipper', topicA, async (message) => {
    // Records keep the order id as key; headers are not carried over.
    await producer.send({ topic: topicB, messages: [{ key: message.key, value: message.value }] });
  });
  await producer.disconnect();
}

async function audit() {
  await consume('audit', topicB, async () => {});
}

const run = { checkout, shipper, audit }[role];
if (!run) {
  console.error('unknown role', role);
  process.exit(2);
}
run().then(() => done(0), (err) => { console.error(err); done(1); });
