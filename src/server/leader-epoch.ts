/**
 * Leadership on a single node: this broker leads every partition at epoch 0. The replicated-cluster
 * issue replaces this with the epochs from the metadata image.
 */
export const SINGLE_NODE_LEADER_EPOCH = 0;
