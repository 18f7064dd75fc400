// Generated from Istio's chart defaults (see docs/configuration.md, "Profiles"); edit by hand with care.
import type { JsonObject } from '../k8s/types.js';

/** Helm values of the istio-discovery chart the sidecar template reads (Istio 1.30 defaults). */
export const ISTIO_VALUES: JsonObject = {
  "gateways": {
    "seccompProfile": {},
    "securityContext": {}
  },
  "global": {
    "caAddress": "",
    "caName": "",
    "certSigners": [],
    "configCluster": false,
    "configValidation": true,
    "defaultPodDisruptionBudget": {
      "enabled": true
    },
    "defaultResources": {
      "requests": {
        "cpu": "10m"
      }
    },
    "externalIstiod": false,
    "hub": "docker.io/istio",
    "imagePullPolicy": "",
    "imagePullSecrets": [],
    "istioNamespace": "istio-system",
    "istiod": {
      "enableAnalysis": false
    },
    "logAsJson": false,
    "logging": {
      "level": "default:info"
    },
    "meshID": "",
    "meshNetworks": {},
    "mountMtlsCerts": false,
    "multiCluster": {
      "clusterName": ""
    },
    "nativeNftables": false,
    "network": "",
    "networkPolicy": {
      "enabled": false
    },
    "omitSidecarInjectorConfigMap": false,
    "operatorManageWebhooks": false,
    "pilotCertProvider": "istiod",
    "priorityClassName": "",
    "proxy": {
      "autoInject": "enabled",
      "clusterDomain": "cluster.local",
      "componentLogLevel": "misc:error",
      "excludeIPRanges": "",
      "excludeInboundPorts": "",
      "excludeOutboundPorts": "",
      "image": "proxyv2",
      "includeIPRanges": "*",
      "includeInboundPorts": "*",
      "includeOutboundPorts": "",
      "logLevel": "warning",
      "outlierLogPath": "",
      "privileged": false,
      "readinessFailureThreshold": 4,
      "readinessInitialDelaySeconds": 0,
      "readinessPeriodSeconds": 15,
      "resources": {
        "limits": {
          "cpu": "2000m",
          "memory": "1024Mi"
        },
        "requests": {
          "cpu": "100m",
          "memory": "128Mi"
        }
      },
      "seccompProfile": {},
      "startupProbe": {
        "enabled": true,
        "failureThreshold": 600
      },
      "statusPort": 15020,
      "tracer": "none"
    },
    "proxy_init": {
      "forceApplyIptables": false,
      "image": "proxyv2"
    },
    "remotePilotAddress": "",
    "resourceScope": "all",
    "sds": {
      "token": {
        "aud": "istio-ca"
      }
    },
    "sts": {
      "servicePort": 0
    },
    "tag": "1.30.2",
    "variant": "",
    "waypoint": {
      "affinity": {},
      "nodeSelector": {},
      "resources": {
        "limits": {
          "cpu": "2",
          "memory": "1Gi"
        },
        "requests": {
          "cpu": "100m",
          "memory": "128Mi"
        }
      },
      "tolerations": [],
      "topologySpreadConstraints": []
    }
  },
  "pilot": {
    "cni": {
      "enabled": false,
      "provider": "default"
    },
    "env": {}
  },
  "revision": "",
  "sidecarInjectorWebhook": {
    "alwaysInjectSelector": [],
    "defaultTemplates": [],
    "enableNamespacesByDefault": false,
    "injectedAnnotations": {},
    "neverInjectSelector": [],
    "reinvocationPolicy": "Never",
    "rewriteAppHTTPProbe": true,
    "templates": {}
  }
};

/** Effective default MeshConfig (mesh.DefaultMeshConfig() merged with the chart mesh). */
export const ISTIO_MESH_CONFIG: JsonObject = {
  "trustDomain": "cluster.local",
  "rootNamespace": "istio-system",
  "enablePrometheusMerge": true,
  "defaultProviders": {
    "metrics": [
      "prometheus"
    ]
  },
  "proxyListenPort": 15001,
  "proxyInboundListenPort": 15006,
  "inboundTrafficPolicy": {
    "mode": "PASSTHROUGH"
  },
  "extensionProviders": [
    {
      "name": "prometheus",
      "prometheus": {}
    },
    {
      "name": "stackdriver",
      "stackdriver": {}
    },
    {
      "name": "envoy",
      "envoyFileAccessLog": {
        "path": "/dev/stdout"
      }
    }
  ],
  "enableTracing": true,
  "accessLogFile": "",
  "accessLogEncoding": "TEXT",
  "protocolDetectionTimeout": "0s",
  "ingressService": "istio-ingressgateway",
  "ingressControllerMode": "STRICT",
  "ingressClass": "istio",
  "trustDomainAliases": [],
  "enableAutoMtls": true,
  "outboundTrafficPolicy": {
    "mode": "ALLOW_ANY"
  },
  "localityLbSetting": {
    "enabled": true
  },
  "certificates": [],
  "connectTimeout": "10s",
  "defaultServiceExportTo": [
    "*"
  ],
  "defaultVirtualServiceExportTo": [
    "*"
  ],
  "defaultDestinationRuleExportTo": [
    "*"
  ],
  "dnsRefreshRate": "60s",
  "serviceSettings": [],
  "defaultConfig": {
    "configPath": "./etc/istio/proxy",
    "binaryPath": "/usr/local/bin/envoy",
    "serviceCluster": "istio-proxy",
    "drainDuration": "45s",
    "terminationDrainDuration": "5s",
    "proxyAdminPort": 15000,
    "controlPlaneAuthPolicy": "MUTUAL_TLS",
    "discoveryAddress": "istiod.istio-system.svc:15012",
    "statNameLength": 189,
    "statusPort": 15020,
    "interceptionMode": "REDIRECT"
  }
};
