// An independent decoder: protobufjs with the upstream field layout (k8s.io/metrics v1beta1,
// apimachinery meta/v1, runtime, resource generated.proto). Maps are declared as their wire-equivalent
// `repeated Entry{key=1, value=2}` so the decoded entries keep their on-the-wire order.
export const METRICS_PROTO_SCHEMA = `
syntax = "proto2";
package k8s;
message TypeMeta { optional string apiVersion = 1; optional string kind = 2; }
message Unknown {
  optional TypeMeta typeMeta = 1; optional bytes raw = 2;
  optional string contentEncoding = 3; optional string contentType = 4;
}
message Time { optional int64 seconds = 1; optional int32 nanos = 2; }
message Duration { optional int64 duration = 1; }
message Quantity { optional string string = 1; }
message LabelEntry { optional string key = 1; optional string value = 2; }
message QuantityEntry { optional string key = 1; optional Quantity value = 2; }
message ObjectMeta {
  optional string name = 1; optional string generateName = 2; optional string namespace = 3;
  optional string selfLink = 4; optional string uid = 5; optional string resourceVersion = 6;
  optional int64 generation = 7; optional Time creationTimestamp = 8; optional Time deletionTimestamp = 9;
  optional int64 deletionGracePeriodSeconds = 10; repeated LabelEntry labels = 11;
  repeated LabelEntry annotations = 12; repeated string finalizers = 14; optional string clusterName = 15;
}
message ListMeta {
  optional string selfLink = 1; optional string resourceVersion = 2; optional string continue = 3;
  optional int64 remainingItemCount = 4;
}
message ContainerMetrics { optional string name = 1; repeated QuantityEntry usage = 2; }
message NodeMetrics {
  optional ObjectMeta metadata = 1; optional Time timestamp = 2; optional Duration window = 3;
  repeated QuantityEntry usage = 4;
}
message NodeMetricsList { optional ListMeta metadata = 1; repeated NodeMetrics items = 2; }
message PodMetrics {
  optional ObjectMeta metadata = 1; optional Time timestamp = 2; optional Duration window = 3;
  repeated ContainerMetrics containers = 4;
}
message PodMetricsList { optional ListMeta metadata = 1; repeated PodMetrics items = 2; }
`;
