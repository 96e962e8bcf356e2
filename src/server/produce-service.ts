/**
 * ProduceService. Per partition: check the batch bytes (bounds, magic, CRC, limits) with
 * validateBatches before anything touches disk, then append through the partition's serial queue.
 * The broker never decodes records on this path; the simple path (`records`) is encoded to one
 * batch here first. Per-partition failures are reported per partition; the others still append.
 * acks=0 gets an immediate empty answer (the client is not waiting for one). In a cluster the
 * append goes through the partition's leader role: acks=all answers once the ISR has the batch
 * (bounded by the request's timeout_ms, capped by produce.timeout.ms.limit). Every request first gets
 * room under queued.max.request.bytes (produce-admission.ts), held until its appends finish.
 * ProduceStream (produce-stream.ts) runs each of its requests through the very same handler as the
 * unary Produce; only how the request arrives and the answer leaves differ.
 */
import type { Logger } from 'pino';
import type { BrokerConfig } from '../config/broker-config.js';
import type { Acks } from '../replication/isr/index.js';
import type { PartitionProduceData__Output } from '../generated/ferry/v1/PartitionProduceData.js';
import type { PartitionProduceResult } from '../generated/ferry/v1/PartitionProduceResult.js';
import type { ProduceRequest__Output } from '../generated/ferry/v1/ProduceRequest.js';
import type { ProduceResponse } from '../generated/ferry/v1/ProduceResponse.js';
import type { ProduceServiceHandlers } from '../generated/ferry/v1/ProduceService.js';
import type { Record__Output } from '../generated/ferry/v1/Record.js';
import { ErrorCode, FerryError, toWireError } from '../protocol/errors.js';
import { validateBatches } from '../protocol/record-batch.js';
import { encodeRecordBatch, type RecordInput } from '../protocol/record-builder.js';
import { assertKeysPresent, isCompacted } from '../storage/index.js';
import { asFerryError } from './grpc-errors.js';
import type { BrokerLifecycle } from './lifecycle.js';
import { isInternalTopic } from '../config/topic-names.js';
import type { TopicManager } from './topic-manager.js';
import { ProduceAdmission } from './produce-admission.js';
import { unary } from './unary.js';
import { produceStream, type ProduceHandler } from './produce-stream.js';
import type { ProducerIdSource } from './producer-ids.js';
import type { InitProducerIdRequest__Output } from '../generated/ferry/v1/InitProducerIdRequest.js';
import type { InitProducerIdResponse } from '../generated/ferry/v1/InitProducerIdResponse.js';

/** acks=all waits at most this long when the request gives no timeout_ms. */
const DEFAULT_PRODUCE_TIMEOUT_MS = 30_000;

export function produceService(topics: TopicManager, config: BrokerConfig, lifecycle: BrokerLifecycle, logger: Logger, producerIds: ProducerIdSource): ProduceServiceHandlers {
  const produce = produceHandler(topics, config, lifecycle, logger);
  return {
    InitProducerId: unary<InitProducerIdRequest__Output, InitProducerIdResponse>(logger, 'InitProducerId', async () => {
      lifecycle.checkAcceptingRequests();
      const producerId = await producerIds.next();
      logger.debug({ producerId }, 'producer id handed out');
      return { producerId, producerEpoch: 0 };
    }),
    Produce: unary<ProduceRequest__Output, ProduceResponse>(logger, 'Produce', (req, call) => produce(req, call.getPeer())),
    ProduceStream: produceStream(produce, lifecycle, logger),
  };
}

function produceHandler(topics: TopicManager, config: BrokerConfig, lifecycle: BrokerLifecycle, logger: Logger): ProduceHandler {
  const timeoutCap = config.int('produce.timeout.ms.limit');
  const admission = new ProduceAdmission(config, logger);
  return async (req, peer) => {
    lifecycle.checkAcceptingRequests();
    const acks = req.acks;
    if (acks !== 0 && acks !== 1 && acks !== -1) {
      throw new FerryError(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1 (all), got ${acks}`);
    }
    const timeoutMs = Math.min(req.timeoutMs > 0 ? req.timeoutMs : DEFAULT_PRODUCE_TIMEOUT_MS, timeoutCap);
    const release = await admission.admit(req, timeoutMs, peer);
    const pending: Promise<unknown>[] = [];
    const response: ProduceResponse = { topics: [] };
    for (const topicData of req.topics) {
      const results: PartitionProduceResult[] = [];
      response.topics!.push({ topic: topicData.topic, partitions: results });
      for (const partitionData of topicData.partitions) {
        const result: PartitionProduceResult = { partition: partitionData.partition, baseOffset: -1, lastOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
        results.push(result);
        pending.push(
          appendOne(topics, topicData.topic, partitionData, acks, timeoutMs).then(
            (appended) => Object.assign(result, appended),
            (err: unknown) => {
              const ferryErr = asFerryError(err);
              if (!(err instanceof FerryError)) logger.error({ err, topic: topicData.topic, partition: partitionData.partition }, 'append failed unexpectedly');
              result.error = toWireError(ferryErr);
            },
          ),
        );
      }
    }
    const settled = Promise.all(pending).finally(release); // never rejects: each append handles its own error
    if (acks === 0) {
      // Nobody waits for this answer; failures are only logged.
      void settled;
      return { topics: [] };
    }
    await settled;
    return response;
  };
}

async function appendOne(topics: TopicManager, topic: string, data: PartitionProduceData__Output, acks: Acks, timeoutMs: number): Promise<Partial<PartitionProduceResult>> {
  if (isInternalTopic(topic)) throw new FerryError(ErrorCode.INVALID_TOPIC, `producing to internal topic ${topic} is not allowed`);
  const { log } = topics.leaderLog(topic, data.partition, -1);
  const maxBatchBytes = log.currentConfig.maxMessageBytes;
  let bytes = data.recordBatch;
  if (bytes.length === 0) {
    if (data.records.length === 0) throw new FerryError(ErrorCode.INVALID_RECORD, 'no record_batch and no records');
    bytes = encodeRecordBatch(data.records.map(toRecordInput));
  }
  const validated = validateBatches(bytes, { maxBatchBytes });
  // Compacted topics keep the newest record per key: a record without a key could never be
  // compacted, so it is refused (as Kafka does). This is the one produce path that decodes records.
  if (isCompacted(log.currentConfig)) assertKeysPresent(bytes);
  const appended = await topics.appendRecords(topic, data.partition, bytes, validated, acks, timeoutMs);
  return {
    baseOffset: appended.baseOffset,
    lastOffset: appended.lastOffset,
    logAppendTimeMs: appended.logAppendTimeMs,
    logStartOffset: appended.logStartOffset,
  };
}

function toRecordInput(r: Record__Output): RecordInput {
  return {
    key: r.key ?? null,
    value: r.value ?? null,
    headers: r.headers.map((h) => ({ key: h.key, value: h.value })),
    timestamp: r.timestamp > 0 ? r.timestamp : Date.now(),
  };
}
