package dev.tokenbroker.deploy;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.sun.net.httpserver.HttpServer;

import dev.tokenbroker.config.BrokerConfig;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretKeySelector;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.client.utils.Serialization;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Renders and lints helm/token-broker in-process (helm-java) for each ci/*-values.yaml and checks the objects
 * a cluster would receive: probes, hardening, where every secret comes from, the env var contract with the
 * broker, what rolls the pods, and the optional HA objects. Plain JUnit: no Quarkus, no cluster.
 */
class HelmChartTest {

    static final Path CHART = Path.of("helm", "token-broker");
    static final Path CI = CHART.resolve("ci");
    static final String RELEASE = "token-broker";
    static final String NAMESPACE = "tokens";
    static final Path DOCKERFILE = Path.of("src", "main", "docker", "Dockerfile.jvm");

    @TempDir
    static Path chartCopies;

    /** Name of the ConfigMap that carries the rendered hooks in {@link #renderableChart}. */
    static final String HOOKS_CARRIER = "rendered-hooks";

    /** The chart the render tests use; see {@link #prepareRenderableChart()}. */
    static Path renderableChart;

    /**
     * A copy of the chart that helm-java 0.0.15 can render in full. It cannot pass {@code --kube-version} and its Helm
     * library assumes Kubernetes v1.20.0, below the chart's {@code kubeVersion}: the copy leaves that line out
     * ({@link #chartRequiresKubernetes123AndHelmRefusesAnOlderCluster()} renders the chart itself). It prints no
     * hooks either: the copy adds a ConfigMap whose data holds each templates/tests file rendered, which
     * {@link #render(Path)} takes out again as {@link Rendered#hooks()}. Everything else is the chart as is.
     */
    @BeforeAll
    static void prepareRenderableChart() throws IOException {
        renderableChart = copyChart(Files.createDirectories(chartCopies.resolve("renderable")));
        Path chartYaml = renderableChart.resolve("Chart.yaml");
        String declared = Files.readString(chartYaml);
        String withoutKubeVersion = declared.replaceAll("(?m)^kubeVersion:.*\\R", "");
        assertNotEquals(declared, withoutKubeVersion, "Chart.yaml declares kubeVersion");
        Files.writeString(chartYaml, withoutKubeVersion);

        StringBuilder carrier =
                new StringBuilder("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + HOOKS_CARRIER + "\ndata:\n");
        try (Stream<Path> hooks = Files.list(CHART.resolve("templates").resolve("tests"))) {
            for (Path hook : hooks.sorted().toList()) {
                String name = hook.getFileName().toString();
                carrier.append("  ")
                        .append(name)
                        .append(": {{ include (print $.Template.BasePath \"/tests/")
                        .append(name)
                        .append("\") . | toJson }}\n");
            }
        }
        Files.writeString(renderableChart.resolve("templates").resolve("zz-rendered-hooks.yaml"), carrier);
    }

    /** Env vars whose values are secrets: they may only come from a secretKeyRef. */
    static boolean isSecretEnvVar(String name) {
        return name.matches("BROKER_CLIENTS_[A-Z0-9]+_CLIENT_SECRET")
                || name.matches("BROKER_SESSION_ENCRYPTION_KEYS_[A-Z0-9]+")
                || name.equals("QUARKUS_REDIS_PASSWORD")
                || name.matches("BROKER_UPSTREAMS?(_[A-Z0-9]+)?_PROXY_PASSWORD");
    }

    static Stream<String> ciValuesFiles() throws IOException {
        try (Stream<Path> files = Files.list(CI)) {
            List<String> names = files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith("-values.yaml"))
                    .sorted()
                    .toList();
            assertTrue(
                    names.containsAll(List.of(
                            "default-values.yaml",
                            "existing-secret-values.yaml",
                            "ha-values.yaml",
                            "upstreams-values.yaml")),
                    "the regression cases are in " + CI + ": " + names);
            return names.stream();
        }
    }

    // ---------------------------------------------------------------- every ci case

    @ParameterizedTest(name = "{0}")
    @MethodSource("ciValuesFiles")
    void lintReportsNoErrors(String ciFile, @TempDir Path tmp) throws IOException {
        // helm-java's lint takes no values file: lint a copy of the chart whose values.yaml is the ci file merged in.
        Path chart = copyChart(tmp);
        Map<String, Object> merged = merge(readYaml(CHART.resolve("values.yaml")), readYaml(CI.resolve(ciFile)));
        Files.writeString(
                chart.resolve("values.yaml"), Serialization.yamlMapper().writeValueAsString(merged));

        LintResult lint = new Helm(chart).lint().call();

        assertFalse(lint.isFailed(), () -> ciFile + ": " + lint.getMessages());
        assertTrue(
                lint.getMessages().stream().noneMatch(m -> m.contains("[ERROR]")),
                () -> ciFile + ": " + lint.getMessages());
    }

    @Test
    void lintCatchesABrokenTemplate(@TempDir Path tmp) throws IOException {
        // Helm's lint mode turns fail into a no-op (validateValues is covered by the render tests below), so
        // prove here that the lint above does look at the rendered templates.
        Path chart = copyChart(tmp);
        Files.writeString(
                chart.resolve("templates").resolve("broken.yaml"),
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"token-broker.fullname\" . }}\n data: x\n");

        LintResult lint = new Helm(chart).lint().call();

        assertTrue(lint.isFailed(), () -> "lint must fail: " + lint.getMessages());
        assertTrue(
                lint.getMessages().stream().anyMatch(m -> m.contains("[ERROR]") && m.contains("broken.yaml")),
                () -> lint.getMessages().toString());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ciValuesFiles")
    void probesRestartOnlyOnLivenessAndTargetTheManagementPort(String ciFile) {
        Container c = brokerContainer(render(CI.resolve(ciFile)));

        assertEquals(2, c.getPorts().size());
        assertEquals("http", c.getPorts().get(0).getName());
        assertEquals(8080, c.getPorts().get(0).getContainerPort());
        // Quarkus' management interface (quarkus.management.enabled, built in): health, metrics, admin API.
        assertEquals("management", c.getPorts().get(1).getName());
        assertEquals(9000, c.getPorts().get(1).getContainerPort());
        assertProbe(c.getStartupProbe(), "/q/health/started");
        assertProbe(c.getLivenessProbe(), "/q/health/live");
        // Readiness DOWN (upstream or Redis away) must only take the pod out of the Service: the liveness probe,
        // the only one that restarts, must not look at readiness.
        assertProbe(c.getReadinessProbe(), "/q/health/ready");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ciValuesFiles")
    void podRunsAsNonRootWithReadOnlyRootAndWritableTmp(String ciFile) {
        Rendered r = render(CI.resolve(ciFile));
        PodSpec pod = r.deployment().getSpec().getTemplate().getSpec();
        Container c = brokerContainer(r);

        PodSecurityContext psc = pod.getSecurityContext();
        assertNotNull(psc, "pod securityContext");
        assertEquals(true, psc.getRunAsNonRoot());
        assertEquals(185L, psc.getRunAsUser());
        assertEquals("RuntimeDefault", psc.getSeccompProfile().getType());

        SecurityContext sc = c.getSecurityContext();
        assertNotNull(sc, "container securityContext");
        assertEquals(true, sc.getRunAsNonRoot());
        assertEquals(185L, sc.getRunAsUser());
        assertEquals(true, sc.getReadOnlyRootFilesystem());
        assertEquals(false, sc.getAllowPrivilegeEscalation());
        assertEquals(List.of("ALL"), sc.getCapabilities().getDrop());
        assertTrue(sc.getCapabilities().getAdd() == null
                || sc.getCapabilities().getAdd().isEmpty());
        assertEquals("RuntimeDefault", sc.getSeccompProfile().getType());
        assertFalse(Boolean.TRUE.equals(sc.getPrivileged()));

        String tmpVolume = c.getVolumeMounts().stream()
                .filter(m -> "/tmp".equals(m.getMountPath()))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no volume at /tmp"))
                .getName();
        Volume tmp = pod.getVolumes().stream()
                .filter(v -> v.getName().equals(tmpVolume))
                .findFirst()
                .orElseThrow();
        assertNotNull(tmp.getEmptyDir(), "/tmp is an emptyDir");

        assertNotNull(c.getResources().getRequests().get("memory"));
        assertNotNull(c.getResources().getLimits().get("memory"));
        assertNotNull(c.getResources().getRequests().get("cpu"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ciValuesFiles")
    void podGetsNoServiceAccountToken(String ciFile) {
        Rendered r = render(CI.resolve(ciFile));
        PodSpec pod = r.deployment().getSpec().getTemplate().getSpec();
        ServiceAccount sa = r.one(ServiceAccount.class);

        assertEquals(false, pod.getAutomountServiceAccountToken());
        assertEquals(false, sa.getAutomountServiceAccountToken());
        assertEquals(sa.getMetadata().getName(), pod.getServiceAccountName());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ciValuesFiles")
    void secretEnvVarsComeOnlyFromSecretKeyRefs(String ciFile) {
        Rendered r = render(CI.resolve(ciFile));
        Container c = brokerContainer(r);
        ConfigMap cm = configMapOf(r);

        Object existingSecret = readYaml(CI.resolve(ciFile)).get("existingSecret");
        String expectedSecret = existingSecret != null
                ? existingSecret.toString()
                : r.one(Secret.class).getMetadata().getName();
        for (EnvVar e : c.getEnv()) {
            if (isSecretEnvVar(e.getName())) {
                assertNull(e.getValue(), e.getName() + " must not carry a literal value");
                assertNotNull(e.getValueFrom(), e.getName());
                assertNotNull(e.getValueFrom().getSecretKeyRef(), e.getName() + " must come from a Secret");
                assertEquals(expectedSecret, e.getValueFrom().getSecretKeyRef().getName(), e.getName());
            }
        }
        assertTrue(c.getEnv().stream()
                .map(EnvVar::getName)
                .anyMatch(n -> n.startsWith("BROKER_CLIENTS_") && isSecretEnvVar(n)));
        assertTrue(c.getEnv().stream()
                .map(EnvVar::getName)
                .anyMatch(n -> n.startsWith("BROKER_SESSION_ENCRYPTION_KEYS_")));
        assertTrue(
                cm.getData().keySet().stream().noneMatch(HelmChartTest::isSecretEnvVar),
                "no secret in the ConfigMap: " + cm.getData().keySet());
        // The values file's secrets appear nowhere but base64-encoded in the Secret.
        String everythingButTheSecret =
                r.docs().stream().filter(d -> !d.contains("kind: Secret")).collect(Collectors.joining());
        for (String secret : secretValues(readYaml(CI.resolve(ciFile)))) {
            assertFalse(everythingButTheSecret.contains(secret), ciFile + " leaks a secret outside the Secret");
        }
        // Every envFrom source is the chart's ConfigMap: secrets never arrive wholesale.
        c.getEnvFrom().forEach(src -> {
            assertNull(src.getSecretRef(), "no envFrom secretRef");
            assertEquals(cm.getMetadata().getName(), src.getConfigMapRef().getName());
        });
    }

    // ---------------------------------------------------------------- env var contract

    @Test
    void defaultReleaseSetsExactlyTheContractEnvVars() {
        Rendered r = render(CI.resolve("default-values.yaml"));
        Map<String, String> plain = configMapOf(r).getData();

        assertEquals(
                new TreeSet<>(Set.of(
                        "BROKER_UPSTREAM_TOKEN_ENDPOINT",
                        "BROKER_UPSTREAM_CONNECT_TIMEOUT",
                        "BROKER_UPSTREAM_READ_TIMEOUT",
                        "BROKER_CLIENTS_CLOVER_CLIENT_ID",
                        "BROKER_CLIENTS_CLOVER_REDIRECT_URIS",
                        "BROKER_CLIENTS_CLOVER_AUTH_METHOD",
                        "BROKER_CLIENTS_CLOVER_CLIENT_SECRET",
                        "BROKER_SESSION_ENCRYPTION_KEYS_K1",
                        "BROKER_SESSION_ENCRYPTION_KEY_ID",
                        "BROKER_SESSION_MAX_LIFETIME",
                        "BROKER_SESSION_REFRESH_REUSE_WINDOW",
                        "BROKER_WEB_AUTHORIZATION_REQUESTS_PER_ADDRESS",
                        "BROKER_WEB_AUTHORIZATION_REQUESTS_PER_CLIENT",
                        "BROKER_WEB_AUTHORIZATION_REQUESTS_PERIOD",
                        "QUARKUS_REDIS_HOSTS",
                        "QUARKUS_REDIS_CLIENT_TYPE",
                        "JDK_JAVA_OPTIONS",
                        "MALLOC_ARENA_MAX")),
                envNames(r));
        assertEquals("https://logintest.clearline.me/connect/token", plain.get("BROKER_UPSTREAM_TOKEN_ENDPOINT"));
        assertEquals("3s", plain.get("BROKER_UPSTREAM_CONNECT_TIMEOUT"));
        assertEquals("10s", plain.get("BROKER_UPSTREAM_READ_TIMEOUT"));
        assertEquals("clover", plain.get("BROKER_CLIENTS_CLOVER_CLIENT_ID"));
        assertEquals("clover://auth-callback", plain.get("BROKER_CLIENTS_CLOVER_REDIRECT_URIS"));
        assertEquals("client_secret_basic", plain.get("BROKER_CLIENTS_CLOVER_AUTH_METHOD"));
        // On by default: any web page can make its visitors' browsers start logins.
        assertEquals("30", plain.get("BROKER_WEB_AUTHORIZATION_REQUESTS_PER_ADDRESS"));
        assertEquals("600", plain.get("BROKER_WEB_AUTHORIZATION_REQUESTS_PER_CLIENT"));
        assertEquals("1m", plain.get("BROKER_WEB_AUTHORIZATION_REQUESTS_PERIOD"));
        assertEquals("k1", plain.get("BROKER_SESSION_ENCRYPTION_KEY_ID"), "the only key is the write key");
        assertEquals("30d", plain.get("BROKER_SESSION_MAX_LIFETIME"));
        assertEquals("5s", plain.get("BROKER_SESSION_REFRESH_REUSE_WINDOW"));
        assertEquals("redis://redis-master:6379", plain.get("QUARKUS_REDIS_HOSTS"));
        assertEquals("standalone", plain.get("QUARKUS_REDIS_CLIENT_TYPE"));
        assertEquals(
                "client-clover-secret",
                secretRef(r, "BROKER_CLIENTS_CLOVER_CLIENT_SECRET").getKey());
        assertEquals(
                "encryption-key-k1",
                secretRef(r, "BROKER_SESSION_ENCRYPTION_KEYS_K1").getKey());
    }

    @Test
    void jvmMemorySettingsAreTheImageDefaultsTheBenchmarkMeasures() throws IOException {
        Rendered r = render(CI.resolve("default-values.yaml"));
        Map<String, String> env = plainEnv(brokerContainer(r));
        Dockerfile image = Dockerfile.read(DOCKERFILE);

        assertEquals(
                "-XX:+UseParallelGC -XX:MaxRAMPercentage=75 -Xms32m -Xmn16m -XX:GCTimeRatio=99 -XX:MinHeapFreeRatio=10"
                        + " -XX:MaxHeapFreeRatio=20 -XX:AdaptiveSizePolicyWeight=90 -XX:+ExitOnOutOfMemoryError",
                env.get("JDK_JAVA_OPTIONS"));
        assertEquals("2", env.get("MALLOC_ARENA_MAX"));
        // The chart replaces the image's JDK_JAVA_OPTIONS as a whole: by default with the very same flags.
        assertEquals(image.env("JDK_JAVA_OPTIONS"), env.get("JDK_JAVA_OPTIONS"), "Dockerfile.jvm JDK_JAVA_OPTIONS");
        assertEquals(image.env("MALLOC_ARENA_MAX"), env.get("MALLOC_ARENA_MAX"), "Dockerfile.jvm MALLOC_ARENA_MAX");
        // run-java.sh and its variables are gone from the image: setting them would do nothing.
        assertTrue(
                Set.of("JAVA_MAX_MEM_RATIO", "GC_TIME_RATIO", "JAVA_OPTS_APPEND").stream()
                        .noneMatch(envNames(r)::contains),
                envNames(r).toString());
        assertEquals(
                "512Mi",
                brokerContainer(r).getResources().getLimits().get("memory").toString());
        // The benchmark's RSS figure holds for these settings only: bench/run.sh must start brokers with them.
        String bench = Files.readString(Path.of("bench/run.sh"));
        for (String option : env.get("JDK_JAVA_OPTIONS").split(" ")) {
            assertTrue(bench.contains(option), "bench/run.sh starts brokers with " + option);
        }
        assertTrue(bench.contains("-XX:MaxRAM=512m"), "bench/run.sh stands in for the pod's memory limit");
        assertTrue(bench.contains("-XX:SharedArchiveFile=$ARCHIVE"), "bench/run.sh maps its AppCDS archive");
        // The archive the image's java command names is made in the image, by the script the benchmark makes its own
        // with.
        assertTrue(
                image.last("ENTRYPOINT").contains("-XX:SharedArchiveFile=/deployments/app-cds.jsa"),
                "Dockerfile.jvm ENTRYPOINT");
        assertTrue(
                Files.readString(DOCKERFILE).contains("RUN bash /deployments/appcds.sh /deployments/quarkus-run.jar"),
                "Dockerfile.jvm AppCDS");
        assertTrue(bench.contains("src/main/docker/appcds.sh \"$JAR\""), "bench/run.sh AppCDS");
    }

    @Test
    void readmeListsTheImagesDefaultJvmFlagsAsDockerfileSetsThem() throws IOException {
        String readme = Files.readString(CHART.resolve("README.md"));
        String lead = "The image's defaults are `";
        int start = readme.indexOf(lead);
        assertTrue(start >= 0, "README.md, Memory and JVM: " + lead);
        start += lead.length();
        String listed = readme.substring(start, readme.indexOf('`', start)).replaceAll("\\s+", " ");

        assertEquals(Dockerfile.read(DOCKERFILE).env("JDK_JAVA_OPTIONS"), listed, "Dockerfile.jvm JDK_JAVA_OPTIONS");
    }

    @Test
    void jvmValuesReplaceTheirFlagsInJdkJavaOptionsAndExtraOptionsComeLast() {
        Rendered r = render(CI.resolve("default-values.yaml"), v -> {
            Map<String, Object> jvm = path(v, "jvm");
            jvm.put("maxRamPercentage", 60);
            jvm.put("initialHeap", "64m");
            jvm.put("youngGeneration", "32m");
            jvm.put("gcTimeRatio", 19);
            jvm.put("mallocArenaMax", 4);
            jvm.put("extraOptions", "-Djavax.net.ssl.trustStore=/etc/token-broker/ca/truststore.p12");
        });
        Map<String, String> env = plainEnv(brokerContainer(r));

        assertEquals(
                "-XX:+UseParallelGC -XX:MaxRAMPercentage=60 -Xms64m -Xmn32m -XX:GCTimeRatio=19 -XX:MinHeapFreeRatio=10"
                        + " -XX:MaxHeapFreeRatio=20 -XX:AdaptiveSizePolicyWeight=90 -XX:+ExitOnOutOfMemoryError"
                        + " -Djavax.net.ssl.trustStore=/etc/token-broker/ca/truststore.p12",
                env.get("JDK_JAVA_OPTIONS"));
        assertEquals("4", env.get("MALLOC_ARENA_MAX"));
    }

    @Test
    void webAndBrokerPkceClientSettingsBecomeTheirEnvVarsAndAreLeftOutWhenUnset() {
        Map<String, String> plain =
                configMapOf(render(CI.resolve("web-values.yaml"))).getData();

        assertEquals("web", plain.get("BROKER_CLIENTS_SPA_MODE"));
        assertEquals("https://app.example.com", plain.get("BROKER_CLIENTS_SPA_ALLOWED_ORIGINS"));
        assertEquals(
                "https://app.example.com,https://app.example.com/signed-in", plain.get("BROKER_CLIENTS_SPA_RETURN_TO"));
        assertEquals("lax", plain.get("BROKER_CLIENTS_SPA_COOKIE_SAME_SITE"));
        assertEquals("https://app.example.com/bye", plain.get("BROKER_CLIENTS_SPA_POST_LOGOUT_REDIRECT_URI"));
        assertEquals("https://tokens.example.com/bff/callback", plain.get("BROKER_CLIENTS_SPA_REDIRECT_URIS"));
        assertEquals("https://tokens.example.com", plain.get("BROKER_EXTERNAL_BASE_URL"));
        assertEquals("broker", plain.get("BROKER_CLIENTS_MOBILE_PKCE"));
        assertEquals("required", plain.get("BROKER_CLIENTS_MOBILE_PAR"));
        assertFalse(plain.containsKey("BROKER_CLIENTS_SPA_PAR"), "unset: the broker's default (auto)");
        assertFalse(plain.containsKey("BROKER_CLIENTS_MOBILE_MODE"), "unset: the broker's default (native)");
        assertFalse(plain.containsKey("BROKER_CLIENTS_MOBILE_ALLOWED_ORIGINS"));
        assertFalse(plain.containsKey("BROKER_CLIENTS_SPA_PKCE"));
    }

    @Test
    void defaultSecretHoldsEveryReferencedKeyWithTheValuesGiven() {
        Rendered r = render(CI.resolve("default-values.yaml"));
        Secret secret = r.one(Secret.class);
        Container c = brokerContainer(r);

        assertEquals(secretName(r), secret.getMetadata().getName());
        for (EnvVar e : c.getEnv()) {
            if (e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null) {
                assertTrue(
                        secret.getData()
                                .containsKey(e.getValueFrom().getSecretKeyRef().getKey()),
                        e.getName() + " refers to "
                                + e.getValueFrom().getSecretKeyRef().getKey() + ", not in "
                                + secret.getData().keySet());
            }
        }
        assertEquals(
                Set.of("client-clover-secret", "encryption-key-k1"),
                secret.getData().keySet());
        assertEquals("not-a-real-secret", decode(secret, "client-clover-secret"));
        assertEquals("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", decode(secret, "encryption-key-k1"));
    }

    @Test
    void redisPasswordComesFromTheSecretOnlyWhenOneIsSet() {
        Rendered without = render(CI.resolve("default-values.yaml"));
        assertFalse(envNames(without).contains("QUARKUS_REDIS_PASSWORD"));

        Rendered with =
                render(CI.resolve("default-values.yaml"), v -> path(v, "redis").put("password", "p@ss:word"));
        SecretKeySelector ref = secretRef(with, "QUARKUS_REDIS_PASSWORD");
        assertEquals("redis-password", ref.getKey());
        assertEquals("p@ss:word", decode(with.one(Secret.class), "redis-password"));
    }

    @Test
    void existingSecretRendersNoSecretAndReferencesTheNamedOne() {
        Rendered r = render(CI.resolve("existing-secret-values.yaml"));
        Map<String, String> plain = configMapOf(r).getData();

        assertTrue(r.all(Secret.class).isEmpty(), "the chart creates no Secret");
        Map<String, String> keyByEnv = brokerContainer(r).getEnv().stream()
                .filter(e -> e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null)
                .collect(Collectors.toMap(EnvVar::getName, e -> {
                    assertEquals(
                            "token-broker-credentials",
                            e.getValueFrom().getSecretKeyRef().getName());
                    return e.getValueFrom().getSecretKeyRef().getKey();
                }));
        assertEquals(
                Map.of(
                        "BROKER_CLIENTS_CLOVER_CLIENT_SECRET", "client-clover-secret",
                        "BROKER_CLIENTS_WEB_CLIENT_SECRET", "client-web-secret",
                        "BROKER_SESSION_ENCRYPTION_KEYS_K1", "encryption-key-k1",
                        "BROKER_SESSION_ENCRYPTION_KEYS_K2", "encryption-key-k2",
                        "QUARKUS_REDIS_PASSWORD", "redis-password"),
                keyByEnv);
        assertEquals(true, secretRef(r, "QUARKUS_REDIS_PASSWORD").getOptional(), "the Redis password is optional");
        assertFalse(
                Boolean.TRUE.equals(
                        secretRef(r, "BROKER_SESSION_ENCRYPTION_KEYS_K1").getOptional()),
                "keys are not");

        assertEquals("https://logintest.clearline.me", plain.get("BROKER_UPSTREAM_ISSUER"));
        assertFalse(plain.containsKey("BROKER_UPSTREAM_TOKEN_ENDPOINT"), "empty settings are not passed on");
        assertFalse(plain.containsKey("BROKER_UPSTREAM_REVOCATION_ENDPOINT"));
        assertEquals("clover-web", plain.get("BROKER_CLIENTS_WEB_CLIENT_ID"));
        assertEquals(
                "https://app.example/callback,http://localhost:3000/cb", plain.get("BROKER_CLIENTS_WEB_REDIRECT_URIS"));
        assertEquals("client_secret_post", plain.get("BROKER_CLIENTS_WEB_AUTH_METHOD"));
        assertEquals("k2", plain.get("BROKER_SESSION_ENCRYPTION_KEY_ID"));
    }

    @Test
    void haReleaseTalksToRedisThroughSentinel() {
        Rendered r = render(CI.resolve("ha-values.yaml"));
        Map<String, String> plain = configMapOf(r).getData();

        assertEquals(
                "redis://redis-node-0.redis-headless:26379,redis://redis-node-1.redis-headless:26379",
                plain.get("QUARKUS_REDIS_HOSTS"));
        assertEquals("sentinel", plain.get("QUARKUS_REDIS_CLIENT_TYPE"));
        assertEquals("mymaster", plain.get("QUARKUS_REDIS_MASTER_NAME"));
        assertEquals("1", plain.get("BROKER_SESSION_MIN_REPLICAS_ACKED"));
        assertFalse(plain.containsKey("BROKER_SESSION_REPLICATION_TIMEOUT"), "the broker's default timeout");
        assertEquals("redis-password", secretRef(r, "QUARKUS_REDIS_PASSWORD").getKey());
        assertEquals("not-a-real-password", decode(r.one(Secret.class), "redis-password"));
        assertEquals(
                "https://logintest.clearline.me/connect/revocation", plain.get("BROKER_UPSTREAM_REVOCATION_ENDPOINT"));
        assertEquals("k2", plain.get("BROKER_SESSION_ENCRYPTION_KEY_ID"));
        assertEquals(
                Set.of("BROKER_SESSION_ENCRYPTION_KEYS_K1", "BROKER_SESSION_ENCRYPTION_KEYS_K2"),
                envNames(r).stream()
                        .filter(n -> n.startsWith("BROKER_SESSION_ENCRYPTION_KEYS_"))
                        .collect(Collectors.toSet()));
    }

    @Test
    void clusterReleaseListsTheNodesAndWaitsForOneReplica() {
        Map<String, String> plain =
                configMapOf(render(CI.resolve("cluster-values.yaml"))).getData();

        assertEquals(
                "redis://redis-cluster-0.redis-cluster-headless:6379,redis://redis-cluster-1.redis-cluster-headless:6379,"
                        + "redis://redis-cluster-2.redis-cluster-headless:6379",
                plain.get("QUARKUS_REDIS_HOSTS"));
        assertEquals("cluster", plain.get("QUARKUS_REDIS_CLIENT_TYPE"));
        assertFalse(plain.containsKey("QUARKUS_REDIS_MASTER_NAME"));
        assertEquals("1", plain.get("BROKER_SESSION_MIN_REPLICAS_ACKED"));
        assertEquals("250ms", plain.get("BROKER_SESSION_REPLICATION_TIMEOUT"));
    }

    @Test
    void standaloneReleaseDoesNotWaitForReplicas() {
        Map<String, String> plain =
                configMapOf(render(CI.resolve("default-values.yaml"))).getData();

        assertEquals("standalone", plain.get("QUARKUS_REDIS_CLIENT_TYPE"));
        assertFalse(plain.containsKey("BROKER_SESSION_MIN_REPLICAS_ACKED"), "0: no WAIT, the broker's default");
        assertFalse(plain.containsKey("BROKER_SESSION_REPLICATION_TIMEOUT"));
    }

    @Test
    void haReleaseSetsRateLimitsPerClientAndPerAddressBehindTrustedProxies() {
        Map<String, String> plain =
                configMapOf(render(CI.resolve("ha-values.yaml"))).getData();

        assertEquals("600", plain.get("BROKER_CLIENTS_CLOVER_RATE_LIMIT_REQUESTS"));
        assertEquals("1m", plain.get("BROKER_CLIENTS_CLOVER_RATE_LIMIT_PERIOD"));
        assertEquals("10.0.0.0/8,fd00::/8", plain.get("BROKER_RATE_LIMIT_TRUSTED_PROXIES"));
        assertEquals("30", plain.get("BROKER_RATE_LIMIT_PER_ADDRESS_REQUESTS"));
        assertEquals("1m", plain.get("BROKER_RATE_LIMIT_PER_ADDRESS_PERIOD"));
        assertEquals("20", plain.get("BROKER_RATE_LIMIT_FAILED_EXCHANGE_COST"));
    }

    // ---------------------------------------------------------------- rollout

    @Test
    void checksumsRollThePodsWhenSettingsOrSecretsChange() {
        Path defaults = CI.resolve("default-values.yaml");
        Map<String, String> base = podAnnotations(render(defaults));
        Map<String, String> otherTimeout =
                podAnnotations(render(defaults, v -> path(v, "upstream").put("readTimeout", "20s")));
        Map<String, String> otherSecret = podAnnotations(
                render(defaults, v -> path(v, "clients", "clover").put("clientSecret", "rotated-secret")));

        assertTrue(base.get("checksum/config").matches("[0-9a-f]{64}"), base.toString());
        assertTrue(base.get("checksum/secret").matches("[0-9a-f]{64}"), base.toString());
        assertNotEquals(base.get("checksum/config"), otherTimeout.get("checksum/config"), "a setting changed");
        assertEquals(base.get("checksum/secret"), otherTimeout.get("checksum/secret"));
        assertNotEquals(base.get("checksum/secret"), otherSecret.get("checksum/secret"), "a secret changed");
        assertEquals(base.get("checksum/config"), otherSecret.get("checksum/config"));
    }

    @Test
    void existingSecretChecksumFollowsTheSecretName() {
        Path existing = CI.resolve("existing-secret-values.yaml");
        Map<String, String> base = podAnnotations(render(existing));
        Map<String, String> renamed =
                podAnnotations(render(existing, v -> v.put("existingSecret", "token-broker-credentials-v2")));

        assertTrue(base.get("checksum/secret").matches("[0-9a-f]{64}"), base.toString());
        assertNotEquals(base.get("checksum/secret"), renamed.get("checksum/secret"));
        assertEquals(
                "token-broker-credentials-v2",
                secretRef(
                                render(existing, v -> v.put("existingSecret", "token-broker-credentials-v2")),
                                "BROKER_SESSION_ENCRYPTION_KEYS_K1")
                        .getName());
    }

    // ---------------------------------------------------------------- service and HA objects

    @ParameterizedTest(name = "{0}")
    @MethodSource("ciValuesFiles")
    void serviceForwardsPort80ToTheHttpPortAnd9000ToTheManagementPortOfTheBrokerPods(String ciFile) {
        Rendered r = render(CI.resolve(ciFile));
        Service api = serviceWithPort(r, "http");
        Service management = serviceWithPort(r, "management");

        assertEquals(RELEASE, api.getMetadata().getName(), "the Service the ingress and the notes name");
        ServicePort http = port(api, "http");
        assertEquals(80, http.getPort());
        assertEquals("http", http.getTargetPort().getStrVal());
        ServicePort metrics = port(management, "management");
        assertEquals(9000, metrics.getPort());
        assertEquals("management", metrics.getTargetPort().getStrVal());
        assertEquals("ClusterIP", management.getSpec().getType(), "the management port never leaves the cluster");
        assertSelects(api.getSpec().getSelector(), r);
        assertSelects(management.getSpec().getSelector(), r);
    }

    @ParameterizedTest(name = "service.type {0}")
    @ValueSource(strings = {"LoadBalancer", "NodePort"})
    void anExposedServiceCarriesOnlyTheApiWhileTheManagementPortGetsAClusterIpServiceOfItsOwn(String type) {
        Rendered r = render(CI.resolve("default-values.yaml"), v -> {
            path(v, "service").put("type", type);
            path(v, "serviceMonitor").put("enabled", true);
        });
        Map<String, Service> services = r.all(Service.class).stream()
                .collect(Collectors.toMap(s -> s.getMetadata().getName(), s -> s));

        assertEquals(Set.of(RELEASE, RELEASE + "-management"), services.keySet());
        Service exposed = services.get(RELEASE);
        assertEquals(type, exposed.getSpec().getType());
        assertEquals(
                List.of("http"),
                exposed.getSpec().getPorts().stream().map(ServicePort::getName).toList(),
                "health, metrics and the admin API are not published on a node port or load balancer");
        Service management = services.get(RELEASE + "-management");
        assertEquals("ClusterIP", management.getSpec().getType());
        assertEquals(
                List.of("management"),
                management.getSpec().getPorts().stream()
                        .map(ServicePort::getName)
                        .toList());
        assertEquals(9000, port(management, "management").getPort());
        assertSelects(management.getSpec().getSelector(), r);
        // The ServiceMonitor scrapes the port named management of the Services it selects: it selects that one.
        GenericKubernetesResource sm = r.generic("ServiceMonitor").get(0);
        Map<String, String> selector = sm.get("spec", "selector", "matchLabels");
        selector.forEach(
                (k, v) -> assertEquals(v, management.getMetadata().getLabels().get(k), "label " + k));
    }

    @Test
    void installNotesSendManagementCallersToTheClusterIpServiceWhenTheApiIsExposed() {
        String notes = new Helm(renderableChart)
                .install()
                .withName(RELEASE)
                .withNamespace(NAMESPACE)
                .withValuesFile(CI.resolve("load-balancer-values.yaml"))
                .dryRun()
                .clientOnly()
                .call()
                .getOutput();

        assertTrue(notes.contains("http://token-broker-management.tokens.svc:9000"), notes);
        assertTrue(notes.contains("port-forward svc/token-broker-management 9000:9000"), notes);
        assertFalse(notes.contains("svc/token-broker 8080:80 9000:9000"), notes);
    }

    @Test
    void singleReplicaReleaseHasNoDisruptionBudgetAutoscalerMonitorOrPolicy() {
        Rendered r = render(CI.resolve("default-values.yaml"));

        assertEquals(1, r.deployment().getSpec().getReplicas());
        assertTrue(r.all(PodDisruptionBudget.class).isEmpty(), "a PDB over one pod would block node drains");
        assertTrue(r.all(HorizontalPodAutoscaler.class).isEmpty());
        assertTrue(r.all(NetworkPolicy.class).isEmpty());
        assertTrue(r.generic("ServiceMonitor").isEmpty());
    }

    @Test
    void haReleaseAutoscalesBetweenTwoAndSixBehindADisruptionBudget() {
        Rendered r = render(CI.resolve("ha-values.yaml"));
        HorizontalPodAutoscaler hpa = r.one(HorizontalPodAutoscaler.class);
        PodDisruptionBudget pdb = r.one(PodDisruptionBudget.class);

        assertEquals(2, hpa.getSpec().getMinReplicas());
        assertEquals(6, hpa.getSpec().getMaxReplicas());
        assertEquals("Deployment", hpa.getSpec().getScaleTargetRef().getKind());
        assertEquals(
                r.deployment().getMetadata().getName(),
                hpa.getSpec().getScaleTargetRef().getName());
        assertEquals("cpu", hpa.getSpec().getMetrics().get(0).getResource().getName());
        assertNull(r.deployment().getSpec().getReplicas(), "the HPA owns the replica count");
        assertSelects(pdb.getSpec().getSelector().getMatchLabels(), r);
        assertEquals(1, pdb.getSpec().getMaxUnavailable().getIntVal());
    }

    @Test
    void disruptionBudgetOnlyWhenMoreThanOnePodIsExpected() {
        Path defaults = CI.resolve("default-values.yaml");

        Rendered threeReplicas = render(defaults, v -> v.put("replicaCount", 3));
        assertEquals(3, threeReplicas.deployment().getSpec().getReplicas());
        assertEquals(1, threeReplicas.all(PodDisruptionBudget.class).size());

        Rendered autoscaledFromOne = render(
                defaults,
                v -> v.put(
                        "autoscaling",
                        new LinkedHashMap<>(Map.of("enabled", true, "minReplicas", 1, "maxReplicas", 4))));
        assertEquals(1, autoscaledFromOne.all(HorizontalPodAutoscaler.class).size());
        assertTrue(autoscaledFromOne.all(PodDisruptionBudget.class).isEmpty());
    }

    @Test
    void haServiceMonitorScrapesQuarkusMetricsOnTheManagementPort() {
        Rendered r = render(CI.resolve("ha-values.yaml"));
        GenericKubernetesResource sm = r.generic("ServiceMonitor").stream()
                .findFirst()
                .orElseThrow(() -> new AssertionError("no ServiceMonitor in HA"));

        assertEquals("monitoring.coreos.com/v1", sm.getApiVersion());
        assertEquals("prometheus", sm.getMetadata().getLabels().get("release"));
        Map<String, Object> endpoint =
                sm.<List<Map<String, Object>>>get("spec", "endpoints").get(0);
        assertEquals("management", endpoint.get("port"));
        assertEquals("/q/metrics", endpoint.get("path"));
        Map<String, String> selector = sm.get("spec", "selector", "matchLabels");
        assertEquals(
                selector,
                r.one(Service.class).getMetadata().getLabels().entrySet().stream()
                        .filter(e -> selector.containsKey(e.getKey()))
                        .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)),
                "selects the broker's Service");
        assertTrue(render(CI.resolve("existing-secret-values.yaml"))
                .generic("ServiceMonitor")
                .isEmpty());
    }

    @Test
    void haShipsTheAlertsAndTheDashboardAsTheyAreInTheChartsFiles() throws IOException {
        Rendered r = render(CI.resolve("ha-values.yaml"));
        GenericKubernetesResource rule = r.generic("PrometheusRule").stream()
                .findFirst()
                .orElseThrow(() -> new AssertionError("no PrometheusRule in HA"));
        assertEquals("monitoring.coreos.com/v1", rule.getApiVersion());
        assertEquals("prometheus", rule.getMetadata().getLabels().get("release"));
        Map<String, Object> rules = readYaml(CHART.resolve("files").resolve("prometheus-rules.yaml"));
        assertEquals(rules.get("groups"), rule.get("spec", "groups"), "the rule file's groups, annotations verbatim");

        ConfigMap dashboard = r.all(ConfigMap.class).stream()
                .filter(c -> c.getMetadata().getName().endsWith("-dashboard"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no dashboard ConfigMap in HA"));
        assertEquals("1", dashboard.getMetadata().getLabels().get("grafana_dashboard"));
        assertEquals("Identity", dashboard.getMetadata().getAnnotations().get("grafana_folder"));
        assertEquals(
                Serialization.jsonMapper()
                        .readTree(CHART.resolve("files")
                                .resolve("grafana-dashboard.json")
                                .toFile()),
                Serialization.jsonMapper().readTree(dashboard.getData().get("token-broker.json")));

        Rendered plain = render(CI.resolve("default-values.yaml"));
        assertTrue(plain.generic("PrometheusRule").isEmpty());
        assertEquals(1, plain.all(ConfigMap.class).size(), "no dashboard by default");
    }

    @Test
    void tracingSetsTheBrokersOtelSettingsAndOpensEgressToTheCollectorsPortOnly() {
        Consumer<Map<String, Object>> tracing = v -> {
            path(v, "tracing")
                    .putAll(Map.of(
                            "enabled",
                            true,
                            "endpoint",
                            "http://otel-collector.monitoring:4318",
                            "protocol",
                            "http/protobuf",
                            "samplerRatio",
                            0.25));
            path(v, "networkPolicy").put("enabled", true);
        };
        Rendered r = render(CI.resolve("default-values.yaml"), tracing);
        Map<String, String> plain = configMapOf(r).getData();

        assertEquals("false", plain.get("QUARKUS_OTEL_SDK_DISABLED"));
        assertEquals("http://otel-collector.monitoring:4318", plain.get("QUARKUS_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
        assertEquals("http/protobuf", plain.get("QUARKUS_OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"));
        assertEquals("0.25", plain.get("QUARKUS_OTEL_TRACES_SAMPLER_ARG"));
        List<List<String>> egressPorts = r.one(NetworkPolicy.class).getSpec().getEgress().stream()
                .map(e -> ports(e.getPorts()))
                .toList();
        assertEquals(List.of("4318/TCP"), egressPorts.get(egressPorts.size() - 1), "the collector's port");

        assertTrue(
                configMapOf(render(CI.resolve("default-values.yaml"))).getData().keySet().stream()
                        .noneMatch(k -> k.startsWith("QUARKUS_OTEL")),
                "off by default: the application's own default (quarkus.otel.sdk.disabled=true) stands");
    }

    @Test
    void ingressIsOffByDefault() {
        assertTrue(render(CI.resolve("default-values.yaml")).all(Ingress.class).isEmpty());
        assertTrue(render(CI.resolve("existing-secret-values.yaml"))
                .all(Ingress.class)
                .isEmpty());
    }

    @Test
    void haIngressTerminatesTlsAndRoutesOnlyTheOAuthEndpointsToTheService() {
        Rendered r = render(CI.resolve("ha-values.yaml"));
        Ingress ingress = r.one(Ingress.class);

        assertEquals("nginx", ingress.getSpec().getIngressClassName());
        assertEquals("letsencrypt", ingress.getMetadata().getAnnotations().get("cert-manager.io/cluster-issuer"));
        assertEquals(1, ingress.getSpec().getTls().size());
        assertEquals("tokens-tls", ingress.getSpec().getTls().get(0).getSecretName());
        assertEquals(
                List.of("tokens.example.com"), ingress.getSpec().getTls().get(0).getHosts());
        assertEquals(1, ingress.getSpec().getRules().size());
        var rule = ingress.getSpec().getRules().get(0);
        assertEquals("tokens.example.com", rule.getHost());
        assertEquals(1, rule.getHttp().getPaths().size(), "/q/* (metrics, health, OpenAPI) stays inside the cluster");
        var path = rule.getHttp().getPaths().get(0);
        assertEquals("/oauth2", path.getPath());
        assertEquals("Prefix", path.getPathType());
        assertEquals(
                r.one(Service.class).getMetadata().getName(),
                path.getBackend().getService().getName());
        assertEquals("http", path.getBackend().getService().getPort().getName());
    }

    @Test
    void ingressNeverRoutesToTheManagementPortWhateverPathsAreListed() {
        Rendered r = render(
                CI.resolve("ha-values.yaml"),
                v -> path(v, "ingress").put("paths", List.of("/oauth2", "/oidc/backchannel-logout", "/q", "/admin")));
        Ingress ingress = r.one(Ingress.class);

        var backends = ingress.getSpec().getRules().stream()
                .flatMap(rule -> rule.getHttp().getPaths().stream())
                .map(p -> p.getBackend().getService().getPort())
                .toList();
        assertEquals(4, backends.size());
        for (var port : backends) {
            assertEquals("http", port.getName(), "only the public port");
            assertNull(port.getNumber(), "never a port number such as the management port's");
        }
    }

    @Test
    void ingressWithoutHostsRefusesToRender() {
        Exception e = assertThrows(
                Exception.class,
                () -> render(
                        CI.resolve("default-values.yaml"),
                        v -> v.put("ingress", new LinkedHashMap<>(Map.of("enabled", true)))));
        assertTrue(e.getMessage().contains("ingress.hosts"), e.getMessage());
    }

    @Test
    void haNetworkPolicyLetsInOnlyHttpAndOutOnlyDnsRedisAndHttps() {
        Rendered r = render(CI.resolve("ha-values.yaml"));
        NetworkPolicy np = r.one(NetworkPolicy.class);

        assertSelects(np.getSpec().getPodSelector().getMatchLabels(), r);
        assertEquals(List.of("Ingress", "Egress"), np.getSpec().getPolicyTypes());
        assertEquals(2, np.getSpec().getIngress().size());
        assertEquals(List.of("8080/TCP"), ports(np.getSpec().getIngress().get(0).getPorts()));
        assertEquals(1, np.getSpec().getIngress().get(0).getFrom().size(), "only the configured sources");
        // The management port (metrics, admin API) only from the monitoring namespace and the ops tooling's pods (the
        // helm test pod has a policy of its own, a test hook).
        var management = np.getSpec().getIngress().get(1);
        assertEquals(List.of("9000/TCP"), ports(management.getPorts()));
        assertEquals(2, management.getFrom().size());
        assertEquals(
                "monitoring",
                management
                        .getFrom()
                        .get(0)
                        .getNamespaceSelector()
                        .getMatchLabels()
                        .get("kubernetes.io/metadata.name"));
        assertEquals(
                "session-admin",
                management.getFrom().get(1).getPodSelector().getMatchLabels().get("app"));

        List<List<String>> egressPorts =
                np.getSpec().getEgress().stream().map(e -> ports(e.getPorts())).toList();
        assertEquals(
                List.of(List.of("53/UDP", "53/TCP"), List.of("26379/TCP", "6379/TCP"), List.of("443/TCP")),
                egressPorts,
                "DNS, the sentinels and the master they name, the upstream");
        assertEquals(
                "redis",
                np.getSpec()
                        .getEgress()
                        .get(1)
                        .getTo()
                        .get(0)
                        .getPodSelector()
                        .getMatchLabels()
                        .get("app.kubernetes.io/name"));
    }

    @ParameterizedTest(name = "tests.enabled={0}")
    @ValueSource(booleans = {true, false})
    void networkPolicyWithoutManagementSourcesClosesTheManagementPortToEveryPod(boolean tests) {
        Rendered r = render(CI.resolve("default-values.yaml"), v -> {
            path(v, "networkPolicy").put("enabled", true);
            path(v, "tests").put("enabled", tests);
        });
        NetworkPolicy np = r.one(NetworkPolicy.class);

        // With or without the helm test pod: it is admitted only by the test hook's policy, while `helm test` runs.
        assertEquals(1, np.getSpec().getIngress().size(), "no rule for 9000: only the kubelet's probes reach it");
        assertEquals(List.of("8080/TCP"), ports(np.getSpec().getIngress().get(0).getPorts()));
        assertEquals(tests ? 1 : 0, testNetworkPolicies(r).size(), "the test hook's policy");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"default-values.yaml", "ha-values.yaml"})
    void networkPolicyNeverAdmitsTheHelmTestPodsLabels(String ciFile) {
        Rendered r = render(CI.resolve(ciFile), v -> path(v, "networkPolicy").put("enabled", true));
        NetworkPolicy np = r.one(NetworkPolicy.class);
        Map<String, String> testPodLabels = testPod(r).getMetadata().getLabels();
        String testName = testPodLabels.get("app.kubernetes.io/name");

        // Any pod in the namespace can put these labels on itself: a permanent rule for them would open port 9000.
        assertTrue(
                np.getSpec().getIngress().stream()
                        .filter(rule -> rule.getFrom() != null)
                        .flatMap(rule -> rule.getFrom().stream())
                        .noneMatch(peer -> peer.getPodSelector() != null
                                && peer.getPodSelector().getMatchLabels() != null
                                && matches(peer.getPodSelector().getMatchLabels(), testPodLabels)),
                () -> "a rule of the NetworkPolicy admits the helm test pod: " + np.getSpec());
        String policyDoc = r.docs().stream()
                .filter(d -> d.contains("kind: NetworkPolicy"))
                .findFirst()
                .orElseThrow();
        assertFalse(policyDoc.contains(testName), () -> "the NetworkPolicy names " + testName + ":\n" + policyDoc);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"default-values.yaml", "ha-values.yaml"})
    void helmTestNetworkPolicyAdmitsOnlyTheTestPodToTheManagementPortWhileTheTestRuns(String ciFile) {
        Rendered r = render(CI.resolve(ciFile), v -> path(v, "networkPolicy").put("enabled", true));
        List<NetworkPolicy> hookPolicies = testNetworkPolicies(r);
        assertEquals(1, hookPolicies.size(), "one NetworkPolicy among the helm test hooks");
        NetworkPolicy np = hookPolicies.get(0);
        Pod pod = testPod(r);
        Map<String, String> annotations = np.getMetadata().getAnnotations();

        // A test hook: only `helm test` creates it, before the test pod, and it goes whatever the outcome.
        assertEquals("test", annotations.get("helm.sh/hook"));
        assertEquals("-1", annotations.get("helm.sh/hook-weight"));
        assertEquals("before-hook-creation,hook-succeeded,hook-failed", annotations.get("helm.sh/hook-delete-policy"));
        assertTrue(
                hookWeight(np) < hookWeight(pod),
                () -> "Helm creates hooks by ascending weight: the policy (" + hookWeight(np) + ") before the pod ("
                        + hookWeight(pod) + ")");
        assertNotEquals(
                r.one(NetworkPolicy.class).getMetadata().getName(),
                np.getMetadata().getName(),
                "the hook must not replace the release's NetworkPolicy");
        // It selects the broker's pods and widens their ingress by exactly one peer and one port.
        assertSelects(np.getSpec().getPodSelector().getMatchLabels(), r);
        assertEquals(List.of("Ingress"), np.getSpec().getPolicyTypes(), "egress stays the release policy's");
        assertEquals(1, np.getSpec().getIngress().size(), () -> np.getSpec().toString());
        var rule = np.getSpec().getIngress().get(0);
        assertEquals(List.of("9000/TCP"), ports(rule.getPorts()));
        assertEquals(1, rule.getFrom().size(), () -> "only the test pod: " + rule.getFrom());
        var peer = rule.getFrom().get(0);
        assertNull(peer.getNamespaceSelector(), "from the release namespace only");
        assertNull(peer.getIpBlock());
        assertEquals(
                Map.of("app.kubernetes.io/name", "token-broker-test", "app.kubernetes.io/instance", RELEASE),
                peer.getPodSelector().getMatchLabels(),
                "exactly the test pod's selector labels (README, \"Checking a release\")");
        assertTrue(matches(
                peer.getPodSelector().getMatchLabels(), pod.getMetadata().getLabels()));
        assertFalse(
                matches(
                        peer.getPodSelector().getMatchLabels(),
                        r.deployment().getSpec().getTemplate().getMetadata().getLabels()),
                "the peer is the test pod, not the broker");
    }

    @ParameterizedTest(name = "networkPolicy.enabled={0}, tests.enabled={1}")
    @CsvSource({"true, false", "false, true", "false, false"})
    void helmTestNetworkPolicyExistsOnlyWithBothTheNetworkPolicyAndTests(boolean networkPolicy, boolean tests) {
        Rendered r = render(CI.resolve("default-values.yaml"), v -> {
            path(v, "networkPolicy").put("enabled", networkPolicy);
            path(v, "tests").put("enabled", tests);
        });

        assertEquals(List.of(), testNetworkPolicies(r));
        assertEquals(tests ? 1 : 0, r.hooks().size(), "the test pod alone: " + r.hooks());
    }

    @Test
    void adminApiSettingsAndThePerUserCapReachTheBroker() {
        Map<String, String> ha =
                configMapOf(render(CI.resolve("ha-values.yaml"))).getData();
        assertEquals("https://login.example.com/realms/ops", ha.get("BROKER_ADMIN_ISSUER"));
        assertEquals(
                "https://login.example.com/realms/ops/protocol/openid-connect/certs", ha.get("BROKER_ADMIN_JWKS_URI"));
        assertEquals("token-broker-admin", ha.get("BROKER_ADMIN_AUDIENCE"));
        assertEquals("token-broker:admin", ha.get("BROKER_ADMIN_REQUIRED_SCOPE"));
        assertEquals("5", ha.get("BROKER_CLIENTS_CLOVER_MAX_SESSIONS_PER_USER"));

        Map<String, String> defaults =
                configMapOf(render(CI.resolve("default-values.yaml"))).getData();
        assertTrue(
                defaults.keySet().stream().noneMatch(k -> k.startsWith("BROKER_ADMIN_")),
                "the admin API stays off by default");
        assertFalse(defaults.containsKey("BROKER_CLIENTS_CLOVER_MAX_SESSIONS_PER_USER"), "no cap by default");
    }

    @Test
    void sessionLifetimesAndAllowedUpstreamHostsReachTheBrokerOnlyWhenSet() throws NoSuchMethodException {
        Map<String, String> set = configMapOf(render(CI.resolve("default-values.yaml"), v -> {
                    path(v, "session").put("idleTimeout", "7d");
                    path(v, "session").put("rotationGrace", "10s");
                    path(v, "upstream").put("allowedHosts", List.of("login.example.com", "login-eu.example.com"));
                }))
                .getData();
        String idleTimeout = envVarOf("broker.session", BrokerConfig.Session.class, "idleTimeout");
        String rotationGrace = envVarOf("broker.session", BrokerConfig.Session.class, "rotationGrace");
        String allowedHosts = envVarOf("broker.upstream", BrokerConfig.Upstream.class, "allowedHosts");

        assertEquals("BROKER_SESSION_IDLE_TIMEOUT", idleTimeout);
        assertEquals("7d", set.get(idleTimeout));
        assertEquals("10s", set.get(rotationGrace));
        assertEquals("login.example.com,login-eu.example.com", set.get(allowedHosts));

        Map<String, String> unset =
                configMapOf(render(CI.resolve("default-values.yaml"))).getData();
        for (String name : List.of(idleTimeout, rotationGrace, allowedHosts)) {
            assertFalse(unset.containsKey(name), name + " unset: the broker's default");
        }
    }

    // ---------------------------------------------------------------- image

    @Test
    void imageIsRepositoryAndTagOrTheAppVersionUnlessADigestPinsIt() {
        Path defaults = CI.resolve("default-values.yaml");
        String appVersion =
                readYaml(CHART.resolve("Chart.yaml")).get("appVersion").toString();
        String digest = "sha256:" + "0123456789abcdef".repeat(4);

        assertEquals(
                "token-broker:" + appVersion, brokerContainer(render(defaults)).getImage());
        Rendered tagged = render(defaults, v -> {
            path(v, "image").put("repository", "registry.example/token-broker");
            path(v, "image").put("tag", "1.2.3");
        });
        assertEquals(
                "registry.example/token-broker:1.2.3", brokerContainer(tagged).getImage());
        Rendered pinned = render(defaults, v -> {
            path(v, "image").put("repository", "registry.example/token-broker");
            path(v, "image").put("tag", "1.2.3");
            path(v, "image").put("digest", digest);
        });
        assertEquals(
                "registry.example/token-broker@" + digest,
                brokerContainer(pinned).getImage(),
                "tag ignored");
        assertEquals(
                "registry.example/token-broker@" + digest,
                testContainer(pinned).getImage(),
                "the helm test pod runs the same image");
    }

    @Test
    void upstreamCaBundleIsMountedAndTheProxysPasswordComesFromTheSecret() {
        String pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        Rendered r = render(CI.resolve("default-values.yaml"), v -> {
            path(v, "upstream").put("caBundle", pem);
            path(v, "upstream", "proxy")
                    .putAll(Map.of(
                            "url", "http://egress.example:3128",
                            "username", "broker",
                            "password", "proxy-secret",
                            "nonProxyHosts", List.of("*.internal.example")));
        });
        Map<String, String> plain = configMapOf(r).getData();

        assertEquals("/etc/token-broker/upstream-ca/ca.pem", plain.get("BROKER_UPSTREAM_TRUST_CERTIFICATES"));
        assertEquals("http://egress.example:3128", plain.get("BROKER_UPSTREAM_PROXY_URL"));
        assertEquals("broker", plain.get("BROKER_UPSTREAM_PROXY_USERNAME"));
        assertEquals("*.internal.example", plain.get("BROKER_UPSTREAM_PROXY_NON_PROXY_HOSTS"));
        assertFalse(plain.containsValue("proxy-secret"), "the password is not in the ConfigMap");
        assertEquals(
                "upstream-proxy-password",
                secretRef(r, "BROKER_UPSTREAM_PROXY_PASSWORD").getKey());
        assertEquals(
                "proxy-secret",
                new String(
                        Base64.getDecoder().decode(r.one(Secret.class).getData().get("upstream-proxy-password")),
                        StandardCharsets.UTF_8));

        ConfigMap ca = r.all(ConfigMap.class).stream()
                .filter(c -> c.getMetadata().getName().endsWith("-upstream-ca"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no CA ConfigMap"));
        assertEquals(pem, ca.getData().get("ca.pem"));
        var volume = r.one(Deployment.class).getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(v -> v.getConfigMap() != null
                        && ca.getMetadata().getName().equals(v.getConfigMap().getName()))
                .findFirst()
                .orElseThrow(() -> new AssertionError("the CA ConfigMap is not a volume"));
        assertTrue(brokerContainer(r).getVolumeMounts().stream()
                .anyMatch(m -> m.getName().equals(volume.getName())
                        && m.getMountPath().equals("/etc/token-broker/upstream-ca")
                        && Boolean.TRUE.equals(m.getReadOnly())));

        Rendered plainRelease = render(CI.resolve("default-values.yaml"));
        assertTrue(configMapOf(plainRelease).getData().keySet().stream()
                .noneMatch(
                        k -> k.startsWith("BROKER_UPSTREAM_PROXY") || k.equals("BROKER_UPSTREAM_TRUST_CERTIFICATES")));
    }

    // ---------------------------------------------------------------- named upstreams

    @Test
    void namedUpstreamsReachTheBrokerUnderTheirIdWithTheDefaultsKeysAndEachClientNamesItsOwn()
            throws NoSuchMethodException {
        Map<String, String> plain =
                configMapOf(render(CI.resolve("upstreams-values.yaml"))).getData();
        String partner = "broker.upstreams.partner";
        String legacy = "broker.upstreams.legacy";
        Class<?> upstream = BrokerConfig.Upstream.class;
        Class<?> proxy = BrokerConfig.Upstream.Proxy.class;

        assertEquals(
                "BROKER_UPSTREAMS_PARTNER_PROXY_NON_PROXY_HOSTS", envVarOf(partner + ".proxy", proxy, "nonProxyHosts"));
        Map<String, String> expected = new TreeMap<>(Map.of(
                envVarOf(partner, upstream, "issuer"), "https://login.partner.example",
                envVarOf(partner, upstream, "allowedHosts"), "login.partner.example",
                envVarOf(partner, upstream, "readTimeout"), "5s",
                envVarOf(partner, upstream, "trustCertificates"), "/etc/token-broker/upstream-ca/partner-ca.pem",
                envVarOf(partner + ".proxy", proxy, "url"), "http://egress-proxy.example:3128",
                envVarOf(partner + ".proxy", proxy, "username"), "broker",
                envVarOf(partner + ".proxy", proxy, "nonProxyHosts"), "*.internal.example",
                envVarOf(legacy, upstream, "tokenEndpoint"), "https://sso.legacy.example/oauth2/token",
                envVarOf(legacy, upstream, "revocationEndpoint"), "https://sso.legacy.example/oauth2/revoke"));
        Map<String, String> named = new TreeMap<>(plain);
        named.keySet().removeIf(k -> !k.startsWith("BROKER_UPSTREAMS_"));
        assertEquals(expected, named, "what is set, and nothing else: unset keys are the broker's defaults");

        assertEquals("partner", plain.get("BROKER_CLIENTS_PARTNERAPP_UPSTREAM"));
        assertEquals("legacy", plain.get("BROKER_CLIENTS_LEGACYAPP_UPSTREAM"));
        assertFalse(plain.containsKey("BROKER_UPSTREAM_ISSUER"), "every client names an upstream: no default one");
        assertFalse(plain.containsKey("BROKER_UPSTREAM_TOKEN_ENDPOINT"));
    }

    @Test
    void eachUpstreamsCaBundleIsAFileOfItsOwnInTheMountedUpstreamCaConfigMap() {
        String defaultPem = "-----BEGIN CERTIFICATE-----\nMIIBdefault\n-----END CERTIFICATE-----\n";
        String partnerPem = "-----BEGIN CERTIFICATE-----\nMIIBpartner\n-----END CERTIFICATE-----\n";
        String caPem = "-----BEGIN CERTIFICATE-----\nMIIBca\n-----END CERTIFICATE-----\n";
        Rendered r = render(CI.resolve("default-values.yaml"), v -> {
            path(v, "upstream").put("caBundle", defaultPem);
            path(v, "upstreams", "partner")
                    .putAll(Map.of("issuer", "https://login.partner.example", "caBundle", partnerPem));
            // An upstream whose id is "ca" must not get the default's ca.pem.
            path(v, "upstreams", "ca").putAll(Map.of("issuer", "https://login.ca.example", "caBundle", caPem));
            path(v, "upstreams", "legacy").put("tokenEndpoint", "https://sso.legacy.example/oauth2/token");
        });
        Map<String, String> plain = configMapOf(r).getData();
        ConfigMap ca = upstreamCaConfigMap(r);

        assertEquals(Map.of("ca.pem", defaultPem, "partner-ca.pem", partnerPem, "ca-ca.pem", caPem), ca.getData());
        Map<String, String> trusted = new TreeMap<>(plain);
        trusted.keySet().removeIf(k -> !k.endsWith("_TRUST_CERTIFICATES"));
        assertEquals(
                Map.of(
                        "BROKER_UPSTREAM_TRUST_CERTIFICATES", "/etc/token-broker/upstream-ca/ca.pem",
                        "BROKER_UPSTREAMS_PARTNER_TRUST_CERTIFICATES", "/etc/token-broker/upstream-ca/partner-ca.pem",
                        "BROKER_UPSTREAMS_CA_TRUST_CERTIFICATES", "/etc/token-broker/upstream-ca/ca-ca.pem"),
                trusted,
                "legacy has no bundle: the JVM's trust store");
        // Each path is its bundle's file: the ConfigMap's keys, all of them, under the mount path.
        String mountPath = assertMountedWhole(r, ca);
        assertEquals("/etc/token-broker/upstream-ca", mountPath);
        for (String file : trusted.values()) {
            assertTrue(file.startsWith(mountPath + "/"), file);
            assertTrue(ca.getData().containsKey(file.substring(mountPath.length() + 1)), file);
        }

        // A named upstream's bundle alone still gets the ConfigMap and the mount.
        Rendered namedOnly = render(CI.resolve("upstreams-values.yaml"));
        ConfigMap namedCa = upstreamCaConfigMap(namedOnly);
        assertEquals(Set.of("partner-ca.pem"), namedCa.getData().keySet());
        assertEquals("/etc/token-broker/upstream-ca", assertMountedWhole(namedOnly, namedCa));
        assertFalse(configMapOf(namedOnly).getData().containsKey("BROKER_UPSTREAM_TRUST_CERTIFICATES"));
    }

    /** Asserts that the ConfigMap is a volume projected whole and mounted read-only; returns the mount path. */
    static String assertMountedWhole(Rendered r, ConfigMap configMap) {
        Volume volume = r.deployment().getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(v -> v.getConfigMap() != null
                        && configMap
                                .getMetadata()
                                .getName()
                                .equals(v.getConfigMap().getName()))
                .findFirst()
                .orElseThrow(() -> new AssertionError("the ConfigMap is not a volume"));
        assertTrue(
                volume.getConfigMap().getItems() == null
                        || volume.getConfigMap().getItems().isEmpty(),
                "every key is a file of its own name");
        VolumeMount mount = brokerContainer(r).getVolumeMounts().stream()
                .filter(m -> m.getName().equals(volume.getName()))
                .findFirst()
                .orElseThrow(() -> new AssertionError("the volume is not mounted"));
        assertEquals(true, mount.getReadOnly());
        return mount.getMountPath();
    }

    @Test
    void aNamedUpstreamsProxyPasswordComesFromTheChartsSecretUnderItsOwnKey() {
        Rendered r = render(CI.resolve("upstreams-values.yaml"));
        Secret secret = r.one(Secret.class);

        SecretKeySelector ref = secretRef(r, "BROKER_UPSTREAMS_PARTNER_PROXY_PASSWORD");
        assertEquals(secret.getMetadata().getName(), ref.getName());
        assertEquals("upstream-partner-proxy-password", ref.getKey());
        assertNotEquals(true, ref.getOptional(), "the chart's Secret holds it");
        assertEquals("not-a-real-proxy-password", decode(secret, "upstream-partner-proxy-password"));
        assertFalse(configMapOf(r).getData().containsValue("not-a-real-proxy-password"));
        assertFalse(envNames(r).contains("BROKER_UPSTREAMS_LEGACY_PROXY_PASSWORD"), "legacy has no proxy");
        assertFalse(envNames(r).contains("BROKER_UPSTREAM_PROXY_PASSWORD"), "nor has the default upstream");

        // The default upstream's proxy password keeps its own key next to it.
        Rendered both = render(
                CI.resolve("upstreams-values.yaml"),
                v -> path(v, "upstream", "proxy")
                        .putAll(Map.of("url", "http://other-proxy.example:3128", "password", "default-proxy-secret")));
        Secret bothSecret = both.one(Secret.class);
        assertEquals(
                "upstream-proxy-password",
                secretRef(both, "BROKER_UPSTREAM_PROXY_PASSWORD").getKey());
        assertEquals(
                "upstream-partner-proxy-password",
                secretRef(both, "BROKER_UPSTREAMS_PARTNER_PROXY_PASSWORD").getKey());
        assertEquals("default-proxy-secret", decode(bothSecret, "upstream-proxy-password"));
        assertEquals("not-a-real-proxy-password", decode(bothSecret, "upstream-partner-proxy-password"));
    }

    @Test
    void withExistingSecretANamedUpstreamsProxyPasswordIsReadFromItWhenPresent() {
        Rendered r = render(CI.resolve("existing-secret-values.yaml"), v -> {
            path(v, "upstreams", "partner").put("issuer", "https://login.partner.example");
            path(v, "upstreams", "partner", "proxy").put("url", "http://egress-proxy.example:3128");
            path(v, "upstreams", "legacy").put("tokenEndpoint", "https://sso.legacy.example/oauth2/token");
            path(v, "clients", "web").put("upstream", "partner");
        });

        assertTrue(r.all(Secret.class).isEmpty(), "the chart creates no Secret");
        SecretKeySelector ref = secretRef(r, "BROKER_UPSTREAMS_PARTNER_PROXY_PASSWORD");
        assertEquals("token-broker-credentials", ref.getName());
        assertEquals("upstream-partner-proxy-password", ref.getKey());
        assertEquals(true, ref.getOptional(), "a proxy may need no password");
        assertFalse(envNames(r).contains("BROKER_UPSTREAMS_LEGACY_PROXY_PASSWORD"), "no proxy, no password");
        assertEquals("partner", configMapOf(r).getData().get("BROKER_CLIENTS_WEB_UPSTREAM"));
    }

    @ParameterizedTest(name = "upstream {0}")
    @ValueSource(strings = {"without endpoints", "null"})
    void theDefaultUpstreamMayBeLeftOutWhenEveryClientNamesAnUpstream(String defaultUpstream) {
        Rendered r = render(CI.resolve("default-values.yaml"), v -> {
            if (defaultUpstream.equals("null")) {
                v.put("upstream", null);
            } else {
                path(v, "upstream").put("tokenEndpoint", "");
            }
            path(v, "upstreams", "partner").put("issuer", "https://login.partner.example");
            path(v, "clients", "clover").put("upstream", "partner");
        });
        Map<String, String> plain = configMapOf(r).getData();

        assertEquals("partner", plain.get("BROKER_CLIENTS_CLOVER_UPSTREAM"));
        assertEquals("https://login.partner.example", plain.get("BROKER_UPSTREAMS_PARTNER_ISSUER"));
        assertFalse(plain.containsKey("BROKER_UPSTREAM_TOKEN_ENDPOINT"));
        assertFalse(plain.containsKey("BROKER_UPSTREAM_ISSUER"));
        if (defaultUpstream.equals("null")) {
            assertTrue(
                    plain.keySet().stream().noneMatch(k -> k.startsWith("BROKER_UPSTREAM_")),
                    "null drops the default's timeouts too: " + plain.keySet());
        }
    }

    @Test
    void nullDropsAnUpstreamAnEarlierValuesFileDefined() {
        Rendered r = render(CI.resolve("upstreams-values.yaml"), v -> {
            path(v, "upstreams").put("legacy", null);
            path(v, "clients", "legacyapp").put("upstream", "partner");
        });

        Map<String, String> plain = configMapOf(r).getData();
        assertTrue(plain.keySet().stream().noneMatch(k -> k.startsWith("BROKER_UPSTREAMS_LEGACY_")), plain.toString());
        assertEquals("https://login.partner.example", plain.get("BROKER_UPSTREAMS_PARTNER_ISSUER"));
        assertEquals("partner", plain.get("BROKER_CLIENTS_LEGACYAPP_UPSTREAM"));
    }

    @Test
    void privateKeyJwtKeysAreMountedFromTheSecretAndNoClientSecretIsSet() throws IOException {
        String first = Files.readString(Path.of("src/test/resources/keys/clover-signed-es256.pem"));
        String second = Files.readString(Path.of("src/test/resources/keys/clover-signed-next-rs256.pem"));
        Rendered r = render(CI.resolve("default-values.yaml"), v -> {
            Map<String, Object> clover = path(v, "clients", "clover");
            clover.remove("clientSecret");
            clover.put("authMethod", "private_key_jwt");
            clover.put("privateKeys", List.of(first, second));
            clover.put("assertionAudience", "issuer");
        });
        Map<String, String> plain = configMapOf(r).getData();

        assertEquals("private_key_jwt", plain.get("BROKER_CLIENTS_CLOVER_AUTH_METHOD"));
        assertEquals(
                "/etc/token-broker/client-keys/clover-0.pem,/etc/token-broker/client-keys/clover-1.pem",
                plain.get("BROKER_CLIENTS_CLOVER_PRIVATE_KEYS"));
        assertEquals("issuer", plain.get("BROKER_CLIENTS_CLOVER_ASSERTION_AUDIENCE"));
        assertFalse(plain.values().stream().anyMatch(value -> value.contains("PRIVATE KEY")));
        assertTrue(
                brokerContainer(r).getEnv().stream()
                        .noneMatch(e -> e.getName().equals("BROKER_CLIENTS_CLOVER_CLIENT_SECRET")),
                "no secret for a client that signs");
        Map<String, String> secret = r.one(Secret.class).getData();
        assertFalse(secret.containsKey("client-clover-secret"));
        assertEquals(
                first,
                new String(
                        Base64.getDecoder().decode(secret.get("client-clover-private-key-0")), StandardCharsets.UTF_8));

        var volume = r.one(Deployment.class).getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(v -> v.getName().equals("client-keys"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no client-keys volume"));
        assertEquals(
                r.one(Secret.class).getMetadata().getName(), volume.getSecret().getSecretName());
        assertEquals(
                List.of("client-clover-private-key-0=clover-0.pem", "client-clover-private-key-1=clover-1.pem"),
                volume.getSecret().getItems().stream()
                        .map(item -> item.getKey() + "=" + item.getPath())
                        .toList());
        assertTrue(brokerContainer(r).getVolumeMounts().stream()
                .anyMatch(m -> m.getName().equals("client-keys")
                        && m.getMountPath().equals("/etc/token-broker/client-keys")
                        && Boolean.TRUE.equals(m.getReadOnly())));

        Rendered secretsOnly = render(CI.resolve("default-values.yaml"));
        assertTrue(secretsOnly.one(Deployment.class).getSpec().getTemplate().getSpec().getVolumes().stream()
                .noneMatch(v -> v.getName().equals("client-keys")));

        // With existingSecret, the keys come from that Secret under the same names: one empty entry per key.
        Rendered existing = render(CI.resolve("default-values.yaml"), v -> {
            v.put("existingSecret", "creds");
            path(v, "session", "encryptionKeys").put("k1", "");
            Map<String, Object> clover = path(v, "clients", "clover");
            clover.remove("clientSecret");
            clover.put("authMethod", "private_key_jwt");
            clover.put("privateKeys", List.of("", ""));
        });
        assertTrue(existing.all(Secret.class).isEmpty(), "the chart renders no Secret");
        var existingVolume = existing.one(Deployment.class).getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(v -> v.getName().equals("client-keys"))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no client-keys volume"));
        assertEquals("creds", existingVolume.getSecret().getSecretName());
        assertEquals(
                List.of("client-clover-private-key-0", "client-clover-private-key-1"),
                existingVolume.getSecret().getItems().stream()
                        .map(item -> item.getKey())
                        .toList());
    }

    @Test
    void aTlsClientAuthClientsKeyAndCertificateAreMountedFromTheSecret() throws IOException {
        String pem = Files.readString(Path.of("src/test/resources/keys/clover-signed-rs256-certificate.pem"));
        Rendered r = render(CI.resolve("default-values.yaml"), v -> {
            Map<String, Object> clover = path(v, "clients", "clover");
            clover.remove("clientSecret");
            clover.put("authMethod", "tls_client_auth");
            clover.put("tlsClientCertificate", pem);
        });

        assertEquals(
                "/etc/token-broker/client-keys/clover-tls.pem",
                configMapOf(r).getData().get("BROKER_CLIENTS_CLOVER_TLS_CLIENT_CERTIFICATE"));
        assertTrue(brokerContainer(r).getEnv().stream()
                .noneMatch(e -> e.getName().equals("BROKER_CLIENTS_CLOVER_CLIENT_SECRET")));
        Map<String, String> secret = r.one(Secret.class).getData();
        assertEquals(
                pem,
                new String(
                        Base64.getDecoder().decode(secret.get("client-clover-tls-certificate")),
                        StandardCharsets.UTF_8));
        assertFalse(secret.containsKey("client-clover-secret"));
        assertEquals(
                List.of("client-clover-tls-certificate=clover-tls.pem"),
                r.one(Deployment.class).getSpec().getTemplate().getSpec().getVolumes().stream()
                        .filter(v -> v.getName().equals("client-keys"))
                        .flatMap(v -> v.getSecret().getItems().stream())
                        .map(item -> item.getKey() + "=" + item.getPath())
                        .toList());
    }

    // ---------------------------------------------------------------- extra volumes

    @Test
    void extraVolumesJoinThePodAndTheirMountsTheBrokerContainer() {
        Path defaults = CI.resolve("default-values.yaml");
        Rendered r = render(defaults, v -> {
            v.put(
                    "extraVolumes",
                    List.of(Map.of("name", "upstream-ca", "secret", Map.of("secretName", "upstream-truststore"))));
            v.put(
                    "extraVolumeMounts",
                    List.of(Map.of("name", "upstream-ca", "mountPath", "/etc/token-broker/ca", "readOnly", true)));
        });
        PodSpec pod = r.deployment().getSpec().getTemplate().getSpec();
        Container c = brokerContainer(r);

        assertEquals(
                List.of("tmp", "upstream-ca"),
                pod.getVolumes().stream().map(Volume::getName).toList());
        assertEquals("upstream-truststore", pod.getVolumes().get(1).getSecret().getSecretName());
        assertEquals(
                List.of("/tmp", "/etc/token-broker/ca"),
                c.getVolumeMounts().stream().map(VolumeMount::getMountPath).toList());
        assertEquals("upstream-ca", c.getVolumeMounts().get(1).getName());
        assertEquals(true, c.getVolumeMounts().get(1).getReadOnly());

        Rendered none = render(defaults);
        assertEquals(
                List.of("tmp"),
                none.deployment().getSpec().getTemplate().getSpec().getVolumes().stream()
                        .map(Volume::getName)
                        .toList());
        assertEquals(1, brokerContainer(none).getVolumeMounts().size());
    }

    // ---------------------------------------------------------------- the image's Dockerfile

    @ParameterizedTest(name = "{0}")
    @MethodSource("ciValuesFiles")
    void containerUserPortsAndProbesMatchTheImagesDockerfile(String ciFile) throws IOException {
        Dockerfile image = Dockerfile.read(DOCKERFILE);
        Rendered r = render(CI.resolve(ciFile));
        Container c = brokerContainer(r);
        Map<String, Integer> portsByName = c.getPorts().stream()
                .collect(Collectors.toMap(ContainerPort::getName, ContainerPort::getContainerPort));

        // USER 185:0: the chart runs the broker and its test pod as the same uid.
        assertEquals(
                image.uid(),
                r.deployment()
                        .getSpec()
                        .getTemplate()
                        .getSpec()
                        .getSecurityContext()
                        .getRunAsUser());
        assertEquals(image.uid(), c.getSecurityContext().getRunAsUser());
        assertEquals(image.uid(), testPod(r).getSpec().getSecurityContext().getRunAsUser());
        assertEquals(image.uid(), testContainer(r).getSecurityContext().getRunAsUser());
        assertEquals(Set.of(8080, 9000), image.exposedPorts(), "the API and the management interface");
        assertEquals(image.exposedPorts(), new TreeSet<>(portsByName.values()), "container ports are EXPOSE's");
        assertEquals(Map.of("http", 8080, "management", 9000), portsByName);
        for (Probe probe : List.of(c.getStartupProbe(), c.getLivenessProbe(), c.getReadinessProbe())) {
            IntOrString port = probe.getHttpGet().getPort();
            Integer number = port.getIntVal() != null ? port.getIntVal() : portsByName.get(port.getStrVal());
            assertTrue(image.exposedPorts().contains(number), probe.getHttpGet().getPath() + " probes " + port);
            assertEquals(
                    portsByName.get("management"), number, probe.getHttpGet().getPath() + " on management");
        }
    }

    // ---------------------------------------------------------------- helm test

    @ParameterizedTest(name = "{0}")
    @MethodSource("ciValuesFiles")
    void helmTestPodChecksReadinessOnTheServicesManagementPortWithTheBrokersHardening(String ciFile) {
        Rendered r = render(CI.resolve(ciFile));
        Pod pod = testPod(r);
        Container test = testContainer(r);
        Container broker = brokerContainer(r);
        Service management = serviceWithPort(r, "management");

        assertEquals("test", pod.getMetadata().getAnnotations().get("helm.sh/hook"));
        assertEquals(
                "before-hook-creation,hook-succeeded",
                pod.getMetadata().getAnnotations().get("helm.sh/hook-delete-policy"));
        assertEquals("Never", pod.getSpec().getRestartPolicy());
        assertEquals(false, pod.getSpec().getAutomountServiceAccountToken());
        assertEquals(broker.getImage(), test.getImage(), "no other image to pull");
        Map<String, String> env = plainEnv(test);
        assertEquals(management.getMetadata().getName() + "." + NAMESPACE + ".svc", env.get("HEALTH_HOST"));
        assertEquals(
                String.valueOf(port(management, "management").getPort()),
                env.get("HEALTH_PORT"),
                "the Service's management port");
        assertEquals(
                "management", port(management, "management").getTargetPort().getStrVal());
        assertEquals(List.of("bash", "-c"), test.getCommand().subList(0, 2));
        String script = test.getCommand().get(2);
        assertTrue(script.contains("/dev/tcp/"), script);
        assertTrue(script.contains("GET /q/health/ready HTTP/1.0"), script);
        // The broker's hardening, from the same values.
        assertEquals(
                r.deployment().getSpec().getTemplate().getSpec().getSecurityContext(),
                pod.getSpec().getSecurityContext());
        assertEquals(broker.getSecurityContext(), test.getSecurityContext());
        assertEquals(true, test.getSecurityContext().getRunAsNonRoot());
        assertEquals(true, test.getSecurityContext().getReadOnlyRootFilesystem());
        assertEquals(false, test.getSecurityContext().getAllowPrivilegeEscalation());
        assertEquals(List.of("ALL"), test.getSecurityContext().getCapabilities().getDrop());
        // Its labels are not the broker's: no Service routes to it, no Deployment counts it.
        for (Service s : r.all(Service.class)) {
            assertFalse(
                    matches(s.getSpec().getSelector(), pod.getMetadata().getLabels()),
                    s.getMetadata().getName() + " selects the test pod");
        }
        assertFalse(matches(
                r.deployment().getSpec().getSelector().getMatchLabels(),
                pod.getMetadata().getLabels()));
    }

    @Test
    void helmTestScriptPassesOnA200AndFailsWithAMessageOtherwise() throws Exception {
        String script = testContainer(render(CI.resolve("default-values.yaml")))
                .getCommand()
                .get(2);
        AtomicInteger status = new AtomicInteger(200);
        List<String> requests = new CopyOnWriteArrayList<>();
        HttpServer broker = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        broker.createContext("/", exchange -> {
            requests.add(exchange.getRequestMethod() + " " + exchange.getRequestURI() + " " + exchange.getProtocol());
            byte[] body = (status.get() == 200 ? "{\"status\":\"UP\"}" : "{\"status\":\"DOWN\"}")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status.get(), body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        broker.start();
        try {
            int port = broker.getAddress().getPort();

            ScriptRun up = runTestScript(script, port);
            assertEquals(0, up.exitCode(), up.toString());
            assertTrue(
                    up.stdout().contains("OK: http://127.0.0.1:" + port + "/q/health/ready answered HTTP/1.1 200"),
                    up.toString());
            assertEquals(List.of("GET /q/health/ready HTTP/1.0"), requests);

            status.set(503);
            ScriptRun down = runTestScript(script, port);
            assertEquals(1, down.exitCode(), down.toString());
            assertTrue(
                    down.stderr().contains("answered 'HTTP/1.1 503 Service Unavailable', expected HTTP/1.x 200"),
                    down.toString());
            assertTrue(down.stderr().contains("\"DOWN\""), "the health report follows: " + down);
        } finally {
            broker.stop(0);
        }
        int closed;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            closed = socket.getLocalPort();
        }
        ScriptRun refused = runTestScript(script, closed);
        assertEquals(1, refused.exitCode(), refused.toString());
        assertTrue(refused.stderr().contains("FAIL: no answer from http://127.0.0.1:" + closed), refused.toString());
    }

    // ---------------------------------------------------------------- Kubernetes version

    @Test
    void chartRequiresKubernetes123AndHelmRefusesAnOlderCluster() {
        assertEquals(">=1.23.0-0", readYaml(CHART.resolve("Chart.yaml")).get("kubeVersion"));
        // helm-java's Helm library takes the cluster for v1.20.0 (no --kube-version): the chart itself must not render.
        IllegalStateException refused = assertThrows(
                IllegalStateException.class,
                () -> new Helm(CHART)
                        .template()
                        .withName(RELEASE)
                        .withNamespace(NAMESPACE)
                        .withValuesFile(CI.resolve("default-values.yaml"))
                        .call());

        assertTrue(
                refused.getMessage()
                        .contains("chart requires kubeVersion: >=1.23.0-0 which is incompatible with"
                                + " Kubernetes v1.20.0"),
                refused.getMessage());
    }

    // ---------------------------------------------------------------- values.schema.json

    static Stream<Arguments> valuesTheSchemaRefuses() {
        return Stream.of(
                Arguments.of(
                        "a misspelt top-level value",
                        (Consumer<Map<String, Object>>) v -> v.put("replicaCont", 2),
                        List.of("Additional property replicaCont is not allowed")),
                Arguments.of(
                        "a misspelt nested value",
                        (Consumer<Map<String, Object>>) v -> path(v, "image").put("tagg", "1.2.3"),
                        List.of("image", "Additional property tagg is not allowed")),
                Arguments.of(
                        "a misspelt client setting",
                        (Consumer<Map<String, Object>>)
                                v -> path(v, "clients", "clover").put("redirectUri", "x:/cb"),
                        List.of("clients.clover", "Additional property redirectUri is not allowed")),
                Arguments.of(
                        "a misspelt probe setting",
                        (Consumer<Map<String, Object>>)
                                v -> path(v, "probes", "liveness").put("periodSecond", 5),
                        List.of("probes.liveness", "Additional property periodSecond is not allowed")),
                Arguments.of(
                        "a word for a number",
                        (Consumer<Map<String, Object>>) v -> v.put("replicaCount", "two"),
                        List.of("replicaCount", "Invalid type. Expected: integer, given: string")),
                Arguments.of(
                        "a tag for a digest",
                        (Consumer<Map<String, Object>>) v -> path(v, "image").put("digest", "1.2.3"),
                        List.of("image.digest", "Does not match pattern")),
                Arguments.of(
                        "a URL for an allowed host",
                        (Consumer<Map<String, Object>>)
                                v -> path(v, "upstream").put("allowedHosts", List.of("https://login.example.com")),
                        List.of("upstream.allowedHosts.0", "Does not match pattern")),
                Arguments.of(
                        "a misspelt setting of a named upstream",
                        (Consumer<Map<String, Object>>) v -> path(v, "upstreams", "partner")
                                .putAll(Map.of("issuer", "https://login.partner.example", "tokenEndPoint", "x")),
                        List.of("upstreams.partner", "Additional property tokenEndPoint is not allowed")),
                Arguments.of(
                        "a number for a duration",
                        (Consumer<Map<String, Object>>) v -> path(v, "session").put("rotationGrace", 0),
                        List.of("session.rotationGrace", "Invalid type. Expected: string, given: integer")),
                Arguments.of(
                        "a JVM size with a unit the JVM does not read",
                        (Consumer<Map<String, Object>>) v -> path(v, "jvm").put("youngGeneration", "16MB"),
                        List.of("jvm.youngGeneration", "Does not match pattern")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("valuesTheSchemaRefuses")
    void schemaRefusesTheRenderOn(String mistake, Consumer<Map<String, Object>> change, List<String> messages) {
        IllegalStateException failure =
                assertThrows(IllegalStateException.class, () -> render(CI.resolve("default-values.yaml"), change));

        assertTrue(
                failure.getMessage().contains("values don't meet the specifications of the schema"),
                failure.getMessage());
        for (String message : messages) {
            assertTrue(
                    failure.getMessage().contains(message),
                    () -> "expected '" + message + "' in: " + failure.getMessage());
        }
    }

    @Test
    void schemaLeavesTheFreeFormMapsOpen() {
        Rendered r = render(CI.resolve("default-values.yaml"), v -> {
            path(v, "podAnnotations").put("example.com/any-key", "x");
            path(v, "podLabels").put("team", "identity");
            path(v, "serviceAccount", "annotations").put("eks.amazonaws.com/role-arn", "arn:aws:iam::1:role/x");
            path(v, "nodeSelector").put("kubernetes.io/arch", "arm64");
            path(v, "podSecurityContext").put("fsGroup", 0);
            path(v, "resources", "limits").put("ephemeral-storage", "1Gi");
            path(v, "affinity", "nodeAffinity").put("preferredDuringSchedulingIgnoredDuringExecution", List.of());
            v.put("tolerations", List.of(Map.of("key", "dedicated", "operator", "Exists", "effect", "NoSchedule")));
            v.put("extraEnv", List.of(Map.of("name", "QUARKUS_LOG_LEVEL", "value", "DEBUG")));
            path(v, "clients")
                    .put(
                            "second",
                            new LinkedHashMap<>(Map.of(
                                    "clientId", "second", "clientSecret", "s", "redirectUris", List.of("second:/cb"))));
        });

        assertEquals("x", podAnnotations(r).get("example.com/any-key"));
        assertEquals(
                "arm64",
                r.deployment()
                        .getSpec()
                        .getTemplate()
                        .getSpec()
                        .getNodeSelector()
                        .get("kubernetes.io/arch"));
        assertEquals(
                "1Gi",
                brokerContainer(r)
                        .getResources()
                        .getLimits()
                        .get("ephemeral-storage")
                        .toString());
        assertEquals("second", configMapOf(r).getData().get("BROKER_CLIENTS_SECOND_CLIENT_ID"));
    }

    @Test
    void nullDropsAClientAnEarlierValuesFileDefined() {
        Rendered r = render(CI.resolve("default-values.yaml"), v -> {
            path(v, "clients").put("clover", null);
            path(v, "clients")
                    .put(
                            "web",
                            new LinkedHashMap<>(Map.of(
                                    "clientId",
                                    "web",
                                    "clientSecret",
                                    "s",
                                    "redirectUris",
                                    List.of("https://a.example/cb"))));
        });

        Map<String, String> plain = configMapOf(r).getData();
        assertEquals("web", plain.get("BROKER_CLIENTS_WEB_CLIENT_ID"));
        assertTrue(plain.keySet().stream().noneMatch(k -> k.startsWith("BROKER_CLIENTS_CLOVER_")), plain.toString());
    }

    /**
     * Every value in values.yaml has a type in the schema: a fixed key under {@code properties}, or, in a free-form
     * map, its {@code additionalProperties}. (Nothing else is allowed at all: the top level refuses unknown keys.)
     */
    @Test
    void schemaTypesEveryValueOfValuesYaml() {
        Map<String, Object> schema = readSchema();
        assertEquals("http://json-schema.org/draft-07/schema#", schema.get("$schema"));
        assertEquals(false, schema.get("additionalProperties"));
        List<String> untyped = new ArrayList<>();
        checkTyped(readYaml(CHART.resolve("values.yaml")), schema, schema, "", untyped);
        assertEquals(List.of(), untyped, "values without a type in values.schema.json");
    }

    @SuppressWarnings("unchecked")
    static void checkTyped(
            Object value, Map<String, Object> node, Map<String, Object> schema, String at, List<String> untyped) {
        Map<String, Object> resolved = resolve(node, schema);
        if (!resolved.containsKey("type")) {
            untyped.add(at);
            return;
        }
        // An open object without properties (a Kubernetes type such as resources) is passed on as given.
        if (value instanceof Map<?, ?> map
                && (resolved.containsKey("properties") || resolved.get("additionalProperties") instanceof Map)) {
            Map<String, Object> properties = (Map<String, Object>) resolved.getOrDefault("properties", Map.of());
            for (var entry : ((Map<String, Object>) map).entrySet()) {
                Object child = properties.get(entry.getKey());
                if (child == null && resolved.get("additionalProperties") instanceof Map<?, ?> open) {
                    child = open;
                }
                String key = at.isEmpty() ? entry.getKey() : at + "." + entry.getKey();
                if (child == null) {
                    untyped.add(key);
                } else {
                    checkTyped(entry.getValue(), (Map<String, Object>) child, schema, key, untyped);
                }
            }
        }
    }

    @Test
    void readmeValuesTableListsEveryValueWithItsDefault() throws IOException {
        Map<String, Object> schema = readSchema();
        Map<String, JsonNode> expected = new TreeMap<>();
        valueRows(readYaml(CHART.resolve("values.yaml")), schema, schema, "", expected);
        String readme = Files.readString(CHART.resolve("README.md"));
        int table = readme.indexOf("\n## Values\n");
        assertTrue(table >= 0, "README.md has a Values section");
        Map<String, JsonNode> listed = new TreeMap<>();
        Matcher row = Pattern.compile("^\\| `([^`]+)` \\| [^|]+ \\| `(.*?)` \\| ", Pattern.MULTILINE)
                .matcher(readme.substring(table));
        while (row.find()) {
            assertNull(listed.put(row.group(1), Serialization.jsonMapper().readTree(row.group(2))), row.group(1));
        }

        assertEquals(expected.keySet(), listed.keySet(), "README.md's Values table against values.yaml");
        expected.forEach((key, value) -> assertEquals(value, listed.get(key), "default of " + key));
    }

    /** The values a table lists: each key of a fixed-key object, down to values that are not fixed-key objects. */
    @SuppressWarnings("unchecked")
    static void valueRows(
            Object value, Map<String, Object> node, Map<String, Object> schema, String at, Map<String, JsonNode> rows) {
        Map<String, Object> resolved = resolve(node, schema);
        if (value instanceof Map<?, ?> map && resolved.get("properties") instanceof Map<?, ?> properties) {
            for (var entry : ((Map<String, Object>) map).entrySet()) {
                valueRows(
                        entry.getValue(),
                        (Map<String, Object>) properties.get(entry.getKey()),
                        schema,
                        at.isEmpty() ? entry.getKey() : at + "." + entry.getKey(),
                        rows);
            }
        } else {
            rows.put(at, Serialization.jsonMapper().valueToTree(value));
        }
    }

    /** A schema node with its {@code $ref}s to {@code #/definitions/...} followed. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> resolve(Map<String, Object> node, Map<String, Object> schema) {
        Map<String, Object> resolved = node;
        while (resolved.containsKey("$ref")) {
            String ref = resolved.get("$ref").toString();
            resolved = (Map<String, Object>)
                    ((Map<String, Object>) schema.get("definitions")).get(ref.substring("#/definitions/".length()));
        }
        return resolved;
    }

    static Map<String, Object> readSchema() {
        try {
            return Serialization.jsonMapper()
                    .readValue(
                            CHART.resolve("values.schema.json").toFile(),
                            new TypeReference<LinkedHashMap<String, Object>>() {});
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------- contradictions fail the render

    static Stream<Arguments> invalidValues() {
        return Stream.of(
                Arguments.of(
                        "no encryption key",
                        (Consumer<Map<String, Object>>) v -> path(v, "session").remove("encryptionKeys"),
                        "no encryption key"),
                Arguments.of(
                        "an empty encryption key",
                        (Consumer<Map<String, Object>>)
                                v -> path(v, "session", "encryptionKeys").put("k1", ""),
                        "session.encryptionKeys.k1 is empty"),
                Arguments.of(
                        "a key that is not 32 bytes of base64",
                        (Consumer<Map<String, Object>>)
                                v -> path(v, "session", "encryptionKeys").put("k1", "change-me"),
                        "session.encryptionKeys.k1 must be the base64 of 32 random bytes"),
                Arguments.of(
                        "no client",
                        (Consumer<Map<String, Object>>) v -> v.remove("clients"),
                        "clients: configure at least one client"),
                Arguments.of(
                        "a client without id",
                        (Consumer<Map<String, Object>>)
                                v -> path(v, "clients", "clover").remove("clientId"),
                        "clients.clover.clientId is required"),
                Arguments.of(
                        "a client without redirect URIs",
                        (Consumer<Map<String, Object>>)
                                v -> path(v, "clients", "clover").remove("redirectUris"),
                        "clients.clover.redirectUris must list at least one redirect URI"),
                Arguments.of(
                        "a client without secret",
                        (Consumer<Map<String, Object>>)
                                v -> path(v, "clients", "clover").remove("clientSecret"),
                        "clients.clover.clientSecret is required"),
                Arguments.of(
                        "an upper-case client name",
                        (Consumer<Map<String, Object>>) v -> path(v, "clients")
                                .put(
                                        "Web",
                                        new LinkedHashMap<>(Map.of(
                                                "clientId",
                                                "web",
                                                "clientSecret",
                                                "s",
                                                "redirectUris",
                                                List.of("https://a.example/cb")))),
                        "clients.Web: client names must be lower-case letters and digits only"),
                Arguments.of(
                        "replicas 3 without redis.url",
                        (Consumer<Map<String, Object>>) v -> {
                            v.remove("redis");
                            v.put("replicaCount", 3);
                        },
                        "redis.url is required when replicaCount > 1 or autoscaling is enabled"),
                Arguments.of(
                        "autoscaling without redis.url",
                        (Consumer<Map<String, Object>>) v -> {
                            v.remove("redis");
                            v.put("autoscaling", new LinkedHashMap<>(Map.of("enabled", true)));
                        },
                        "redis.url is required when replicaCount > 1 or autoscaling is enabled"),
                Arguments.of(
                        "an encryptionKeyId naming no key",
                        (Consumer<Map<String, Object>>) v -> path(v, "session").put("encryptionKeyId", "k9"),
                        "session.encryptionKeyId 'k9' names no key in session.encryptionKeys (k1)"),
                Arguments.of(
                        "autoscaling min above max",
                        (Consumer<Map<String, Object>>) v -> v.put(
                                "autoscaling",
                                new LinkedHashMap<>(Map.of("enabled", true, "minReplicas", 5, "maxReplicas", 3))),
                        "autoscaling.minReplicas (5) must not exceed autoscaling.maxReplicas (3)"),
                Arguments.of(
                        "a secret value next to existingSecret",
                        (Consumer<Map<String, Object>>) v -> v.put("existingSecret", "creds"),
                        "clients.clover.clientSecret is set but existingSecret 'creds' is used"),
                Arguments.of(
                        "private_key_jwt with a secret",
                        (Consumer<Map<String, Object>>) v -> path(v, "clients", "clover")
                                .putAll(Map.of("authMethod", "private_key_jwt", "privateKeys", List.of("k"))),
                        "clients.clover.clientSecret is not sent with authMethod private_key_jwt: remove it"),
                Arguments.of(
                        "private_key_jwt without keys",
                        (Consumer<Map<String, Object>>) v -> {
                            path(v, "clients", "clover").remove("clientSecret");
                            path(v, "clients", "clover").put("authMethod", "private_key_jwt");
                        },
                        "clients.clover.privateKeys must list at least one private key for authMethod private_key_jwt"),
                Arguments.of(
                        "a private key next to existingSecret",
                        (Consumer<Map<String, Object>>) v -> {
                            v.put("existingSecret", "creds");
                            path(v, "clients", "clover").remove("clientSecret");
                            path(v, "clients", "clover")
                                    .putAll(Map.of("authMethod", "private_key_jwt", "privateKeys", List.of("", "k")));
                        },
                        "clients.clover.privateKeys[1] is set but existingSecret 'creds' is used: leave it empty and"
                                + " put the key under client-clover-private-key-1 in that Secret"),
                Arguments.of(
                        "tls_client_auth without its certificate",
                        (Consumer<Map<String, Object>>) v -> {
                            path(v, "clients", "clover").remove("clientSecret");
                            path(v, "clients", "clover").put("authMethod", "tls_client_auth");
                        },
                        "clients.clover.tlsClientCertificate is required for authMethod tls_client_auth"),
                Arguments.of(
                        "a client certificate for a client with a secret",
                        (Consumer<Map<String, Object>>)
                                v -> path(v, "clients", "clover").put("tlsClientCertificate", "pem"),
                        "clients.clover.tlsClientCertificate is used only with authMethod tls_client_auth"),
                Arguments.of(
                        "private keys for a client with a secret",
                        (Consumer<Map<String, Object>>)
                                v -> path(v, "clients", "clover").put("privateKeys", List.of("k")),
                        "clients.clover.privateKeys is used only with authMethod private_key_jwt"),
                Arguments.of(
                        "sentinel without master name",
                        (Consumer<Map<String, Object>>) v -> path(v, "redis").put("clientType", "sentinel"),
                        "redis.masterName is required with redis.clientType sentinel"),
                Arguments.of(
                        "an admin issuer without JWKS and audience",
                        (Consumer<Map<String, Object>>)
                                v -> path(v, "admin").put("issuer", "https://login.example.com"),
                        "set admin.issuer, admin.jwksUri and admin.audience together"),
                Arguments.of(
                        "a per-user cap of zero",
                        (Consumer<Map<String, Object>>)
                                v -> path(v, "clients", "clover").put("maxSessionsPerUser", 0),
                        "clients.clover.maxSessionsPerUser '0' must be a whole number of at least 1"),
                Arguments.of(
                        "an ingress without trusted proxies while logins are bounded per address",
                        (Consumer<Map<String, Object>>) v -> v.put(
                                "ingress",
                                new LinkedHashMap<>(Map.of(
                                        "enabled",
                                        true,
                                        "hosts",
                                        List.of("tokens.example.com"),
                                        "paths",
                                        List.of("/oauth2")))),
                        "authorizationRequests.perAddress would count every login under the ingress controller's"
                                + " address"),
                Arguments.of(
                        "tracing without a collector",
                        (Consumer<Map<String, Object>>) v -> path(v, "tracing").put("enabled", true),
                        "tracing.endpoint is required when tracing.enabled"),
                Arguments.of(
                        "no upstream",
                        (Consumer<Map<String, Object>>)
                                v -> v.put("upstream", new LinkedHashMap<>(Map.of("tokenEndpoint", ""))),
                        "upstream: set upstream.issuer (discovery) or upstream.tokenEndpoint"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidValues")
    void renderFailsWithAClearMessageOn(String contradiction, Consumer<Map<String, Object>> change, String message) {
        IllegalStateException failure =
                assertThrows(IllegalStateException.class, () -> render(CI.resolve("default-values.yaml"), change));

        assertTrue(failure.getMessage().contains("token-broker: invalid values"), failure.getMessage());
        assertTrue(
                failure.getMessage().contains(message), () -> "expected '" + message + "' in: " + failure.getMessage());
    }

    /** Named upstreams and the clients that name them, wrong in one way each: the chart lists exactly one error. */
    static Stream<Arguments> invalidUpstreamValues() {
        return Stream.of(
                Arguments.of(
                        "no default upstream for a client that names none",
                        (Consumer<Map<String, Object>>) v -> {
                            path(v, "upstream").put("tokenEndpoint", "");
                            path(v, "upstreams", "partner").put("issuer", "https://login.partner.example");
                            path(v, "clients", "second")
                                    .putAll(Map.of(
                                            "clientId", "second",
                                            "clientSecret", "s",
                                            "redirectUris", List.of("second:/cb"),
                                            "upstream", "partner"));
                        },
                        "upstream: set upstream.issuer (discovery) or upstream.tokenEndpoint: clients without an"
                                + " upstream of their own use it (clover); or set clients.<name>.upstream to an entry"
                                + " of upstreams"),
                Arguments.of(
                        "an upstream id with a capital",
                        (Consumer<Map<String, Object>>)
                                v -> path(v, "upstreams", "Partner").put("issuer", "https://login.partner.example"),
                        "upstreams.Partner: upstream ids must be lower-case letters and digits only ([a-z0-9]+): the"
                                + " id becomes part of BROKER_UPSTREAMS_<ID>_*"),
                Arguments.of(
                        "an upstream id with a hyphen, which the broker takes but an env var name cannot carry",
                        (Consumer<Map<String, Object>>)
                                v -> path(v, "upstreams", "partner-eu").put("issuer", "https://login.partner.example"),
                        "upstreams.partner-eu: upstream ids must be lower-case letters and digits only ([a-z0-9]+):"
                                + " the id becomes part of BROKER_UPSTREAMS_<ID>_*"),
                Arguments.of(
                        "the reserved upstream id default",
                        (Consumer<Map<String, Object>>)
                                v -> path(v, "upstreams", "default").put("issuer", "https://login.partner.example"),
                        "upstreams.default: the id default is reserved for the default upstream: put its settings"
                                + " under upstream, or choose another id"),
                Arguments.of(
                        "a named upstream without issuer or token endpoint",
                        (Consumer<Map<String, Object>>) v -> path(v, "upstreams", "partner")
                                .put("revocationEndpoint", "https://login.partner.example/revoke"),
                        "upstreams.partner: set upstreams.partner.issuer (discovery) or"
                                + " upstreams.partner.tokenEndpoint"),
                Arguments.of(
                        "a client naming an upstream when none is configured",
                        (Consumer<Map<String, Object>>)
                                v -> path(v, "clients", "clover").put("upstream", "partner"),
                        "clients.clover.upstream 'partner' names no entry of upstreams (none configured): leave it"
                                + " unset to use the default upstream (upstream)"),
                Arguments.of(
                        "a client naming an upstream that null dropped",
                        (Consumer<Map<String, Object>>) v -> {
                            path(v, "upstreams", "partner").put("issuer", "https://login.partner.example");
                            path(v, "upstreams", "eu").put("issuer", "https://login.eu.example");
                            path(v, "upstreams").put("legacy", null);
                            path(v, "clients", "clover").put("upstream", "legacy");
                        },
                        "clients.clover.upstream 'legacy' names no entry of upstreams (eu, partner): leave it unset"
                                + " to use the default upstream (upstream)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidUpstreamValues")
    void renderFailsWithExactlyThisErrorOn(String contradiction, Consumer<Map<String, Object>> change, String error) {
        IllegalStateException failure =
                assertThrows(IllegalStateException.class, () -> render(CI.resolve("default-values.yaml"), change));

        assertTrue(failure.getMessage().contains("token-broker: invalid values"), failure.getMessage());
        List<String> errors = failure.getMessage()
                .lines()
                .filter(l -> l.startsWith("  - "))
                .map(l -> l.substring("  - ".length()))
                .toList();
        assertEquals(List.of(error), errors, failure.getMessage());
    }

    @Test
    void renderFailsWithoutEncryptionKeyIdsEvenWithExistingSecret() {
        IllegalStateException failure = assertThrows(
                IllegalStateException.class,
                () -> render(
                        CI.resolve("existing-secret-values.yaml"),
                        v -> path(v, "session").remove("encryptionKeys")));

        assertTrue(failure.getMessage().contains("no encryption key id"), failure.getMessage());
    }

    // ---------------------------------------------------------------- helpers

    /** What a cluster receives at install ({@code docs}, {@code objects}), and the hooks ({@code helm test}). */
    record Rendered(List<String> docs, List<HasMetadata> objects, List<HasMetadata> hooks) {

        <T extends HasMetadata> List<T> all(Class<T> type) {
            return objects.stream().filter(type::isInstance).map(type::cast).toList();
        }

        <T extends HasMetadata> T one(Class<T> type) {
            List<T> found = all(type);
            assertEquals(1, found.size(), "exactly one " + type.getSimpleName());
            return found.get(0);
        }

        List<GenericKubernetesResource> generic(String kind) {
            return all(GenericKubernetesResource.class).stream()
                    .filter(g -> kind.equals(g.getKind()))
                    .toList();
        }

        Deployment deployment() {
            return one(Deployment.class);
        }
    }

    static Rendered render(Path valuesFile) {
        String yaml = new Helm(renderableChart)
                .template()
                .withName(RELEASE)
                .withNamespace(NAMESPACE)
                .withValuesFile(valuesFile)
                .call();
        List<String> docs = new ArrayList<>();
        List<HasMetadata> objects = new ArrayList<>();
        List<HasMetadata> hooks = new ArrayList<>();
        for (String doc : yaml.split("(?m)^---\\s*$")) {
            if (doc.lines().allMatch(l -> l.isBlank() || l.startsWith("#"))) {
                continue;
            }
            HasMetadata object = Serialization.unmarshal(doc);
            if (object instanceof ConfigMap carrier
                    && HOOKS_CARRIER.equals(carrier.getMetadata().getName())) {
                for (String hook : carrier.getData().values()) {
                    if (!hook.isBlank()) {
                        hooks.add(Serialization.unmarshal(hook));
                    }
                }
                continue;
            }
            docs.add(doc);
            objects.add(object);
        }
        return new Rendered(docs, objects, hooks);
    }

    /** Renders the given ci file after a change to its values (written to a temporary file). */
    static Rendered render(Path valuesFile, Consumer<Map<String, Object>> change) {
        Map<String, Object> values = readYaml(valuesFile);
        change.accept(values);
        try {
            Path changed = Files.createTempFile("token-broker-values", ".yaml");
            try {
                Files.writeString(changed, Serialization.yamlMapper().writeValueAsString(values));
                return render(changed);
            } finally {
                Files.delete(changed);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The one Service that has a port of this name. */
    static Service serviceWithPort(Rendered r, String portName) {
        List<Service> found = r.all(Service.class).stream()
                .filter(s -> s.getSpec().getPorts().stream().anyMatch(p -> portName.equals(p.getName())))
                .toList();
        assertEquals(1, found.size(), "exactly one Service with port " + portName);
        return found.get(0);
    }

    static ServicePort port(Service service, String name) {
        return service.getSpec().getPorts().stream()
                .filter(p -> name.equals(p.getName()))
                .findFirst()
                .orElseThrow(() -> new AssertionError(
                        "no port " + name + " on " + service.getMetadata().getName()));
    }

    static Container brokerContainer(Rendered r) {
        List<Container> containers =
                r.deployment().getSpec().getTemplate().getSpec().getContainers();
        assertEquals(1, containers.size());
        return containers.get(0);
    }

    /** The helm test pod, a hook. */
    static Pod testPod(Rendered r) {
        List<Pod> pods = r.hooks().stream()
                .filter(Pod.class::isInstance)
                .map(Pod.class::cast)
                .toList();
        assertEquals(1, pods.size(), "exactly one helm test pod");
        return pods.get(0);
    }

    /** The NetworkPolicies among the hooks: the one that admits the helm test pod while {@code helm test} runs. */
    static List<NetworkPolicy> testNetworkPolicies(Rendered r) {
        return r.hooks().stream()
                .filter(NetworkPolicy.class::isInstance)
                .map(NetworkPolicy.class::cast)
                .toList();
    }

    /** A hook's helm.sh/hook-weight; Helm's default is 0. */
    static int hookWeight(HasMetadata hook) {
        Map<String, String> annotations = hook.getMetadata().getAnnotations();
        return Integer.parseInt(annotations == null ? "0" : annotations.getOrDefault("helm.sh/hook-weight", "0"));
    }

    static Container testContainer(Rendered r) {
        List<Container> containers = testPod(r).getSpec().getContainers();
        assertEquals(1, containers.size());
        return containers.get(0);
    }

    /** The container's env vars with a literal value, by name. */
    static Map<String, String> plainEnv(Container c) {
        return c.getEnv().stream()
                .filter(e -> e.getValue() != null)
                .collect(Collectors.toMap(EnvVar::getName, EnvVar::getValue));
    }

    /** Whether a label selector (matchLabels) selects these labels. */
    static boolean matches(Map<String, String> selector, Map<String, String> labels) {
        return selector != null
                && !selector.isEmpty()
                && selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
    }

    /**
     * The env var of a {@code @ConfigMapping} property, as Quarkus maps it (upper case, {@code .} and {@code -} to
     * {@code _}); the method must exist in the broker's config group, so a renamed property fails here.
     */
    static String envVarOf(String prefix, Class<?> group, String method) throws NoSuchMethodException {
        group.getMethod(method);
        String property = prefix + "." + method.replaceAll("([A-Z])", "-$1").toLowerCase(Locale.ROOT);
        return property.toUpperCase(Locale.ROOT).replaceAll("[.-]", "_");
    }

    record ScriptRun(int exitCode, String stdout, String stderr) {}

    /** Runs the helm test pod's script here, against 127.0.0.1:port, with bash and coreutils as in the image. */
    static ScriptRun runTestScript(String script, int port) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder("bash", "-c", script);
        builder.environment().put("HEALTH_HOST", "127.0.0.1");
        builder.environment().put("HEALTH_PORT", String.valueOf(port));
        Process process = builder.start();
        process.getOutputStream().close();
        var stdout = CompletableFuture.supplyAsync(() -> readAll(process.getInputStream()));
        var stderr = CompletableFuture.supplyAsync(() -> readAll(process.getErrorStream()));
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the script ends");
        return new ScriptRun(process.exitValue(), stdout.join(), stderr.join());
    }

    static String readAll(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The broker's settings (the dashboard's and the upstream CAs' ConfigMaps, when enabled, are others). */
    static ConfigMap configMapOf(Rendered r) {
        List<ConfigMap> settings = r.all(ConfigMap.class).stream()
                .filter(c -> !c.getMetadata().getName().endsWith("-dashboard")
                        && !c.getMetadata().getName().endsWith("-upstream-ca"))
                .toList();
        assertEquals(1, settings.size(), "exactly one settings ConfigMap");
        return settings.get(0);
    }

    /** The ConfigMap of the upstreams' CA bundles. */
    static ConfigMap upstreamCaConfigMap(Rendered r) {
        List<ConfigMap> found = r.all(ConfigMap.class).stream()
                .filter(c -> c.getMetadata().getName().equals(RELEASE + "-upstream-ca"))
                .toList();
        assertEquals(1, found.size(), "exactly one upstream-CA ConfigMap");
        return found.get(0);
    }

    /** Every env var the broker sees: the ConfigMap's keys (envFrom) plus the container's env. */
    static Set<String> envNames(Rendered r) {
        Container c = brokerContainer(r);
        Set<String> names = new TreeSet<>(configMapOf(r).getData().keySet());
        for (EnvVar e : c.getEnv()) {
            assertTrue(names.add(e.getName()), e.getName() + " is set twice");
        }
        return names;
    }

    static SecretKeySelector secretRef(Rendered r, String envName) {
        EnvVar e = brokerContainer(r).getEnv().stream()
                .filter(v -> v.getName().equals(envName))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no env var " + envName));
        assertNotNull(e.getValueFrom(), envName);
        assertNotNull(e.getValueFrom().getSecretKeyRef(), envName);
        return e.getValueFrom().getSecretKeyRef();
    }

    /** The one Secret that all secretKeyRefs of the pod name. */
    static String secretName(Rendered r) {
        Set<String> names = brokerContainer(r).getEnv().stream()
                .filter(e -> e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null)
                .map(e -> e.getValueFrom().getSecretKeyRef().getName())
                .collect(Collectors.toSet());
        assertEquals(1, names.size(), "one Secret for all secrets: " + names);
        return names.iterator().next();
    }

    static String decode(Secret secret, String key) {
        assertTrue(
                secret.getData().containsKey(key),
                key + " in " + secret.getData().keySet());
        return new String(Base64.getDecoder().decode(secret.getData().get(key)), StandardCharsets.UTF_8);
    }

    static Map<String, String> podAnnotations(Rendered r) {
        return r.deployment().getSpec().getTemplate().getMetadata().getAnnotations();
    }

    static void assertProbe(Probe probe, String path) {
        assertNotNull(probe, path);
        assertAll(
                path,
                () -> assertEquals(path, probe.getHttpGet().getPath()),
                () -> assertEquals("management", probe.getHttpGet().getPort().getStrVal()));
    }

    /** The selector matches the broker pods' labels. */
    static void assertSelects(Map<String, String> selector, Rendered r) {
        Map<String, String> podLabels =
                r.deployment().getSpec().getTemplate().getMetadata().getLabels();
        assertFalse(selector.isEmpty());
        selector.forEach((k, v) -> assertEquals(v, podLabels.get(k), "pod label " + k));
        assertEquals(r.deployment().getSpec().getSelector().getMatchLabels(), selector);
    }

    static List<String> ports(List<NetworkPolicyPort> ports) {
        return ports.stream()
                .map(p -> (p.getPort().getIntVal() != null
                                ? p.getPort().getIntVal()
                                : p.getPort().getStrVal()) + "/" + p.getProtocol())
                .toList();
    }

    /** The secret values a values file holds (client secrets, encryption keys, Redis and upstream proxy passwords). */
    @SuppressWarnings("unchecked")
    static List<String> secretValues(Map<String, Object> values) {
        List<String> secrets = new ArrayList<>();
        ((Map<String, Object>) values.getOrDefault("clients", Map.of()))
                .values()
                .forEach(c -> secrets.add(String.valueOf(((Map<String, Object>) c).getOrDefault("clientSecret", ""))));
        Map<String, Object> session = (Map<String, Object>) values.getOrDefault("session", Map.of());
        ((Map<String, Object>) session.getOrDefault("encryptionKeys", Map.of()))
                .values()
                .forEach(k -> secrets.add(String.valueOf(k)));
        Map<String, Object> redis = (Map<String, Object>) values.getOrDefault("redis", Map.of());
        secrets.add(String.valueOf(redis.getOrDefault("password", "")));
        List<Object> upstreams = new ArrayList<>();
        upstreams.add(values.get("upstream"));
        upstreams.addAll(((Map<String, Object>) values.getOrDefault("upstreams", Map.of())).values());
        for (Object upstream : upstreams) {
            if (upstream instanceof Map<?, ?> u && u.get("proxy") instanceof Map<?, ?> proxy) {
                secrets.add(String.valueOf(proxy.get("password")));
            }
        }
        return secrets.stream().filter(s -> !s.isBlank() && !"null".equals(s)).toList();
    }

    /** The nested map at the given keys, created when missing. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> path(Map<String, Object> values, String... keys) {
        Map<String, Object> at = values;
        for (String key : keys) {
            at = (Map<String, Object>) at.computeIfAbsent(key, k -> new LinkedHashMap<String, Object>());
        }
        return at;
    }

    static Map<String, Object> readYaml(Path file) {
        try {
            Map<String, Object> values = Serialization.yamlMapper()
                    .readValue(file.toFile(), new TypeReference<LinkedHashMap<String, Object>>() {});
            return values == null ? new LinkedHashMap<>() : values;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Helm's coalescing: maps merge key by key, anything else (lists too) replaces, null removes. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> merge(Map<String, Object> base, Map<String, Object> override) {
        Map<String, Object> merged = new LinkedHashMap<>(base);
        override.forEach((k, v) -> {
            if (v == null) {
                merged.remove(k);
            } else if (v instanceof Map && merged.get(k) instanceof Map) {
                merged.put(k, merge((Map<String, Object>) merged.get(k), (Map<String, Object>) v));
            } else {
                merged.put(k, v);
            }
        });
        return merged;
    }

    static Path copyChart(Path tmp) throws IOException {
        Path target = tmp.resolve("token-broker");
        try (Stream<Path> files = Files.walk(CHART)) {
            for (Path source : files.toList()) {
                Path dest = target.resolve(CHART.relativize(source).toString());
                if (Files.isDirectory(source)) {
                    Files.createDirectories(dest);
                } else {
                    Files.copy(source, dest);
                }
            }
        }
        return target;
    }
}
