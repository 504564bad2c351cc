package dev.tokenbroker.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import jakarta.inject.Qualifier;

/**
 * A bean that checks configuration while it is built: {@link ConfigurationCheck} builds every such bean before
 * anything else starts and reports all their problems at once. Beans of any package carry it, so configuration needs to
 * know none of them. Put {@code @Default} beside it, or the bean is no longer injected without a qualifier.
 */
@Qualifier
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.FIELD, ElementType.PARAMETER})
public @interface CheckedAtStartup {}
