// One service of the RabbitMQ chain checkout → queue orders.a → shipper → queue
// orders.b → audit, on amqplib traced by the official
// @opentelemetry/instrumentation-amqplib and exported over OTLP/HTTP protobuf. No
// Causeway code here.
//
//   node amqplib.js checkout|shipper|audit
//
// Environment: AMQP_URL, OTLP_URL (…/v1/traces), ORDERS (how many), and LINKS=1
// for the instrumentation's useLinksForConsume (a consumer span linked to the
// producer's instead of its child). Only checkout sets the AMQP correlationId
// (the order's correlation id) and messageId; shipper republishes without them.
'use strict';

const role = process.argv[2];
const orders = Number(process.env.ORDERS || 20);

const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { AmqplibInstrumentation } = require('@opentelemetry/instrumentation-amqplib');

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': role }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: process.env.OTLP_URL }), { scheduledDelayMillis: 100 })],
});
provider.register();
registerInstrumentations({ instrumentations: [new AmqplibInstrumentation({ useLinksForConsume: process.env.LINKS === '1' })] });

// amqplib must be loaded after the instrumentation is registered.
const amqp = require('amqplib');

async function done(code) {
  await provider.forceFlush();
  await provider.shutdown();
  process.exit(code);
}

async function checkout(ch) {
  for (let i = 1; i <= orders; i++) {
    const id = `order-${i}`;
    ch.sendToQueue('orders.a', Buffer.from(JSON.stringify({ order: id })), { correlationId: `corr-${id}`, messageId: `msg-${id}` });
  }
  await ch.waitForConfirms();
}

async function consume(ch, queue, handle) {
  let seen = 0;
  await new Promise((resolve, reject) => {
    ch.consume(queue, async (msg) => {
      try {
        await handle(msg);
        ch.ack(msg);
        if (++seen === orders) resolve();
      } catch (err) {
        reject(err);
      }
    }).catch(reject);
  });
}

async function shipper(ch) {
  await consume(ch, 'orders.a', async (msg) => {
    ch.sendToQueue('orders.b', msg.content);
    await ch.waitForConfirms();
  });
}

async function audit(ch) {
  await consume(ch, 'orders.b', async () => {});
}

async function main() {
  const run = { checkout, shipper, audit }[role];
  if (!run) throw new Error('unknown role ' + role);
  const conn = await amqp.connect(process.env.AMQP_URL);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('orders.a');
  await ch.assertQueue('orders.b');
  await run(ch);
  await ch.close();
  await conn.close();
}

main().then(() => done(0), (err) => { console.error(err); done(1); });
