package dev.tokenbroker;

import org.junit.jupiter.api.Test;

import com.tngtech.archunit.core.domain.JavaCall;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.properties.HasName;
import com.tngtech.archunit.core.domain.properties.HasOwner;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;

import io.smallrye.mutiny.Uni;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The layering the README's architecture section describes, checked on the compiled main classes: each layer uses
 * only the layers below it, and no two packages depend on each other.
 */
class ArchitectureTest {

    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.tokenbroker");

    private static final String[] ENTRY_POINTS = {
        "dev.tokenbroker.api.oauth2..",
        "dev.tokenbroker.api.bff..",
        "dev.tokenbroker.api.admin..",
        "dev.tokenbroker.api.oidc.."
    };

    @Test
    void eachLayerUsesOnlyTheLayersBelowIt() {
        layeredArchitecture()
                .consideringOnlyDependenciesInLayers()
                .layer("api")
                .definedBy("dev.tokenbroker.api..")
                .layer("token")
                .definedBy("dev.tokenbroker.token..")
                .layer("session")
                .definedBy("dev.tokenbroker.session..")
                .layer("redis")
                .definedBy("dev.tokenbroker.redis..")
                .layer("upstream")
                .definedBy("dev.tokenbroker.upstream..")
                .layer("crypto")
                .definedBy("dev.tokenbroker.crypto..")
                .layer("config")
                .definedBy("dev.tokenbroker.config..")
                .layer("error")
                .definedBy("dev.tokenbroker.error..")
                .layer("devmode")
                .definedBy("dev.tokenbroker.devmode..")
                .whereLayer("api")
                .mayNotBeAccessedByAnyLayer()
                .whereLayer("api")
                .mayOnlyAccessLayers("token", "session", "redis", "crypto", "config", "error")
                .whereLayer("token")
                .mayOnlyAccessLayers("session", "redis", "upstream", "crypto", "config", "error")
                .whereLayer("session")
                .mayOnlyAccessLayers("redis", "crypto", "config", "error")
                .whereLayer("redis")
                .mayOnlyAccessLayers("crypto", "config", "error")
                .whereLayer("upstream")
                .mayOnlyAccessLayers("config", "error")
                .whereLayer("crypto")
                .mayOnlyAccessLayers("config", "error")
                .whereLayer("config")
                .mayOnlyAccessLayers("error")
                .whereLayer("error")
                .mayNotAccessAnyLayer()
                .whereLayer("devmode")
                .mayOnlyAccessLayers("config")
                .check(MAIN);
    }

    @Test
    void noTwoPackagesDependOnEachOther() {
        slices().matching("dev.tokenbroker.(*)..").should().beFreeOfCycles().check(MAIN);
    }

    /**
     * Each entry point ({@code oauth2}, {@code bff}, {@code admin}, {@code oidc}) stands on {@code api.http}, which
     * holds what they share (filters, the error mapper, rate limits, request parsing) and knows none of them; no entry
     * point uses another.
     */
    @Test
    void entryPointsShareOnlyTheHttpPackage() {
        noClasses()
                .that()
                .resideInAPackage("dev.tokenbroker.api.http..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(ENTRY_POINTS)
                .check(MAIN);
        for (String entryPoint : ENTRY_POINTS) {
            noClasses()
                    .that()
                    .resideInAPackage(entryPoint)
                    .should()
                    .dependOnClassesThat()
                    .resideInAnyPackage(others(entryPoint))
                    .check(MAIN);
        }
    }

    private static String[] others(String entryPoint) {
        return java.util.Arrays.stream(ENTRY_POINTS)
                .filter(p -> !p.equals(entryPoint))
                .toArray(String[]::new);
    }

    /**
     * Whether a call waits is visible in its type: the stores ({@code session}, {@code redis}) return {@link Uni}s
     * and never wait on one themselves (the revocation outbox and the active-sessions gauge, which run on their own
     * threads, use the blocking Redis client, whose types say so); a caller on a worker thread awaits explicitly. The
     * entry points that run on the event loop ({@code api.oauth2}, {@code api.bff}, {@code api.http}) never await.
     */
    @Test
    void onlyWorkerThreadCodeAwaitsAUni() {
        noClasses()
                .that()
                .resideInAnyPackage(
                        "dev.tokenbroker.session..",
                        "dev.tokenbroker.redis..",
                        "dev.tokenbroker.api.oauth2..",
                        "dev.tokenbroker.api.bff..",
                        "dev.tokenbroker.api.http..")
                .should()
                .callMethodWhere(JavaCall.Predicates.target(HasName.Predicates.name("await"))
                        .and(JavaCall.Predicates.target(
                                HasOwner.Predicates.With.owner(JavaClass.Predicates.assignableTo(Uni.class)))))
                .check(MAIN);
    }

    /**
     * Entry points go through {@code token}; these reach the stores ({@code session}, {@code redis}) directly, each for
     * a reason: rate buckets, the DPoP replay cache, the admin API's session view and the web login's transaction.
     */
    @Test
    void entryPointsReachTheStoresOnlyWhereNamed() {
        noClasses()
                .that()
                .resideInAPackage("dev.tokenbroker.api..")
                .and()
                .haveNameNotMatching(
                        "dev\\.tokenbroker\\.api\\.(http\\.RateLimits|oauth2\\.DpopBinding|admin\\.AdminRoutes|bff\\.BffResource)"
                                + "(\\$.*)?")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("dev.tokenbroker.session..", "dev.tokenbroker.redis..")
                .check(MAIN);
    }
}
