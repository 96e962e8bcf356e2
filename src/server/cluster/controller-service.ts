/**
 * ControllerService (proto/ferry/v1/controller.proto) on a voter: RegisterBroker and
 * BrokerHeartbeat run on the active controller and answer after their records commit; on any
 * other voter they fail with NOT_LEADER_OR_FOLLOWER carrying the active controller's id and address
 * (the gRPC error metadata), so the calling broker redirects itself.
 */
import type { Logger } from 'pino';
import type { ControllerServiceHandlers } from '../../generated/ferry/v1/ControllerService.js';
import { unary } from '../unary.js';
import type { ActiveController } from './active-controller.js';

/** What the service needs of the active controller (ClusterNode delegates to its ActiveController). */
export type ControllerRunner = Pick<ActiveController, 'run'>;

export function controllerService(active: ControllerRunner, logger: Logger): ControllerServiceHandlers {
  return {
    RegisterBroker: unary(logger, 'RegisterBroker', async (req) => {
      const res = await active.run((c, ctx) => c.registerBroker({
        brokerId: req.brokerId, clusterId: req.clusterId, incarnationId: req.incarnationId, host: req.host, port: req.port,
        previousBrokerEpoch: req.previousBrokerEpoch,
      }, ctx));
      logger.info({ brokerId: req.brokerId, brokerEpoch: res.brokerEpoch, address: `${req.host}:${req.port}` }, 'controller: broker registered');
      return { brokerEpoch: res.brokerEpoch };
    }),
    BrokerHeartbeat: unary(logger, 'BrokerHeartbeat', async (req) => {
      const res = await active.run((c, ctx) => c.brokerHeartbeat({
        brokerId: req.brokerId, brokerEpoch: req.brokerEpoch, metadataOffset: req.metadataOffset,
        wantFence: req.wantFence, wantShutdown: req.wantShutdown, recovering: req.recovering,
      }, ctx));
      return { isFenced: res.isFenced, isCaughtUp: res.isCaughtUp, shouldShutDown: res.shouldShutDown };
    }),
  };
}
