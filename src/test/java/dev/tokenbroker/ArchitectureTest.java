package dev.tokenbroker;

import org.junit.jupiter.api.Test;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;

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
                .mayOnlyAccessLayers("token", "session", "crypto", "config", "error")
                .whereLayer("token")
                .mayOnlyAccessLayers("session", "upstream", "crypto", "config", "error")
                .whereLayer("session")
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
     * Entry points go through {@code token}; these reach the session store's types directly, each for a reason: rate
     * buckets, the DPoP replay cache, the admin API's session view and the web login's transaction.
     */
    @Test
    void entryPointsReachTheSessionLayerOnlyWhereNamed() {
        noClasses()
                .that()
                .resideInAPackage("dev.tokenbroker.api..")
                .and()
                .haveNameNotMatching(
                        "dev\\.tokenbroker\\.api\\.(RateLimits|DpopBinding|AdminRoutes|BffResource)(\\$.*)?")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("dev.tokenbroker.session..")
                .check(MAIN);
    }
}
